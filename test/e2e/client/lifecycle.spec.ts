// A call's life on the client (issue "Lifecycle and bounds"): a settled call is never sent
// again, a lone server is never shunned, a timeout while connecting says so, and the queue
// of calls waiting for a connection is bounded.
import { Registry, type Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  CancelledException,
  RpcTimeoutException,
} from '../../../lib/index.js';
import { startPythonPeer, type PeerHandler } from '../../support/python-peer.js';
import { clientFactory, errorOf, sleep, useCleanup } from './helpers.js';

const track = useCleanup();
const newClient = clientFactory(track);

/** Echoes, after `delay` ms when the message is `{ delay, ... }`. */
const delayedEcho: PeerHandler = async (value) => {
  const delay = (value as { delay?: number } | null)?.delay;
  if (delay) await sleep(delay);
  return value;
};

/** Sum of a counter's values whose labels match `labels`. */
async function counted(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = registry.getSingleMetric(name) as Counter | undefined;
  if (metric === undefined) return 0;
  const { values } = await metric.get();
  return values
    .filter((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected))
    .reduce((sum, value) => sum + value.value, 0);
}

describe('a call given up after it was written (idempotent, two endpoints)', () => {
  it('is not sent to the other endpoint once cancelled', async () => {
    const peers = [track(await startPythonPeer({ handler: delayedEcho })), track(await startPythonPeer({ handler: delayedEcho }))];
    const client = newClient({ endpoints: peers.map((peer) => `127.0.0.1:${peer.port}`), idempotentPatterns: true });
    const controller = new AbortController();
    const pending = errorOf(client.call(ARRPC_DEFAULT_PATTERN, { delay: 100 }, { signal: controller.signal }));
    await expect.poll(() => peers[0]!.requests.length + peers[1]!.requests.length).toBe(1);
    controller.abort();
    expect(await pending).toBeInstanceOf(CancelledException);
    await sleep(150);
    expect(peers[0]!.requests.length + peers[1]!.requests.length).toBe(1);
  });

  it('is not sent again, nor counted twice, once timed out', async () => {
    const peers = [track(await startPythonPeer({ handler: delayedEcho })), track(await startPythonPeer({ handler: delayedEcho }))];
    const registry = new Registry();
    const client = newClient({ endpoints: peers.map((peer) => `127.0.0.1:${peer.port}`), idempotentPatterns: true, metrics: true, registry });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { delay: 150 }, { timeoutMs: 50 }));
    expect(error).toBeInstanceOf(RpcTimeoutException);
    await sleep(250);
    expect(peers[0]!.requests.length + peers[1]!.requests.length).toBe(1);
    expect(await counted(registry, 'arrpc_client_errors_total')).toBe(1);
    expect(await counted(registry, 'arrpc_client_retries_total')).toBe(0);
  });
});
