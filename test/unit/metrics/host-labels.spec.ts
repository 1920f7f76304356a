import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { hostLabels, readHostLabels } from '../../../lib/metrics/host-labels.js';
import { EXPECTED_HOSTNAME, EXPECTED_NAMESPACE } from './host.js';

describe('host labels', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arrpc-host-labels-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('reads both files, trimmed', () => {
    const labels = readHostLabels({ hostnameFile: file('h1', 'pod-7f9c\n'), namespaceFile: file('n1', ' payments\n') });
    expect(labels).toEqual({ hostname: 'pod-7f9c', k8sNamespace: 'payments' });
  });

  it('falls back to os.hostname() for a missing or blank hostname file; no namespace file is ""', () => {
    expect(readHostLabels({ hostnameFile: join(dir, 'absent'), namespaceFile: join(dir, 'absent') })).toEqual({
      hostname: hostname(),
      k8sNamespace: '',
    });
    expect(readHostLabels({ hostnameFile: file('h2', ' \n'), namespaceFile: join(dir, 'absent') }).hostname).toBe(hostname());
  });

  it('reads this machine’s files once', () => {
    expect(hostLabels()).toEqual({ hostname: EXPECTED_HOSTNAME, k8sNamespace: EXPECTED_NAMESPACE });
    expect(hostLabels()).toBe(hostLabels());
  });
});
