import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ARRPC_METRIC_NAMES, DEFAULT_METRICS_HISTOGRAM_BUCKETS, createServerMetricsRecorder } from '../../../lib/index.js';
import { familyShape, parseExposition, referenceFamilies, sampleValue } from '../../support/exposition.js';
import { itWithWire } from '../../support/vectors.js';
import { EXPECTED_HOSTNAME, EXPECTED_NAMESPACE } from './host.js';

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe('server recorder', () => {
  itWithWire('writes the reference families: names, types, HELP, sample names and label names, in order', async () => {
    const registry = new Registry();
    const connection = createServerMetricsRecorder({ registry }).forConnection('127.0.0.1', false);
    connection.request('handler', 'arrpc', true, 0.001, 95);
    connection.error('handler', true, 'boom');

    const reference = referenceFamilies('server');
    const ours = await scrape(registry);
    expect([...ours.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [name, family] of reference) {
      expect(familyShape(ours.get(name)!)).toEqual(familyShape(family));
    }
  });

  it('counts verified requests by secret position, beyond the reference, only once one is counted', async () => {
    const registry = new Registry();
    const connection = createServerMetricsRecorder({ registry }).forConnection('::ffff:10.0.0.7', false);
    connection.request('handler', 'arrpc', true, 0.001, 95);
    expect(registry.getSingleMetric(ARRPC_METRIC_NAMES.serverAuthSecretRequests)).toBeUndefined();
    connection.secret(1);
    connection.secret(0);
    connection.secret(1);

    const family = (await scrape(registry)).get(ARRPC_METRIC_NAMES.serverAuthSecretRequests)!;
    expect(family.type).toBe('counter');
    const labels = { hostname: EXPECTED_HOSTNAME, k8s_namespace: EXPECTED_NAMESPACE, remote_address: '10.0.0.7', tls: 'False' };
    expect(family.samples.map((s) => [s.labels, s.value])).toEqual([
      [{ ...labels, secret: '1' }, 2],
      [{ ...labels, secret: '0' }, 1],
    ]);
  });

  it('writes the reference label values: True/False, peer IP, host labels', async () => {
    const registry = new Registry();
    const connection = createServerMetricsRecorder({ registry }).forConnection('::ffff:127.0.0.1', true);
    connection.request('handler', 'arrpc', false, 0.5, 10);

    const [sample] = (await scrape(registry)).get(ARRPC_METRIC_NAMES.serverReqSeconds)!.samples;
    expect(sample!.labels).toEqual({
      handler_func: 'handler',
      hostname: EXPECTED_HOSTNAME,
      k8s_namespace: EXPECTED_NAMESPACE,
      remote_address: '127.0.0.1',
      signed_payload: 'False',
      tls: 'True',
    });
  });

  it('counts and sums what was recorded, per label set', async () => {
    const registry = new Registry();
    const recorder = createServerMetricsRecorder({ registry });
    const a = recorder.forConnection('10.0.0.1', false);
    const b = recorder.forConnection('10.0.0.1', false); // another connection from the same peer
    a.request('add', 'add', true, 0.25, 100);
    b.request('add', 'add', true, 0.5, 200);
    a.request('add', 'add', false, 1, 7);
    a.request('echo', 'arrpc', true, 2, 1);

    const families = await scrape(registry);
    const signedAdd = { handler_func: 'add', signed_payload: 'True', remote_address: '10.0.0.1' };
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', signedAdd)).toBe(2);
    expect(sampleValue(families, 'arrpc_server_req_seconds_sum', signedAdd)).toBe(0.75);
    expect(sampleValue(families, 'arrpc_server_req_bytes_count', signedAdd)).toBe(2);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', signedAdd)).toBe(300);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', { handler_func: 'add', signed_payload: 'False' })).toBe(7);
    expect(sampleValue(families, 'arrpc_server_req_seconds_sum', { handler_func: 'echo' })).toBe(2);
  });

  it('counts errors by reason, with an empty handler_func when none ran', async () => {
    const registry = new Registry();
    const connection = createServerMetricsRecorder({ registry }).forConnection('10.0.0.2', false);
    connection.error('handler', false, 'boom');
    connection.error('handler', false, 'boom');
    connection.error('', false, 'There is no matching message handler defined in the remote service.');

    const families = await scrape(registry);
    expect(sampleValue(families, 'arrpc_server_errors_total', { handler_func: 'handler', reason: 'boom' })).toBe(2);
    expect(sampleValue(families, 'arrpc_server_errors_total', { handler_func: '' })).toBe(1);
  });

  it('records no quantile series', async () => {
    const registry = new Registry();
    createServerMetricsRecorder({ registry }).forConnection('10.0.0.3', false).request('h', 'p', false, 1, 1);
    expect(await registry.metrics()).not.toContain('quantile');
  });

  describe('histogram option', () => {
    it('is off by default', async () => {
      const registry = new Registry();
      createServerMetricsRecorder({ registry }).forConnection('10.0.0.4', false).request('h', 'p', false, 1, 1);
      expect(registry.getSingleMetric(ARRPC_METRIC_NAMES.serverReqDurationSeconds)).toBeUndefined();
    });

    it('records latency by pattern, without remote_address, with the default buckets', async () => {
      const registry = new Registry();
      const connection = createServerMetricsRecorder({ registry, histogram: true }).forConnection('10.0.0.5', true);
      connection.request('sum', 'math.sum', true, 0.003, 10);
      connection.request('sum', 'math.sum', true, 0.2, 10);

      const family = (await scrape(registry)).get(ARRPC_METRIC_NAMES.serverReqDurationSeconds)!;
      expect(family.type).toBe('histogram');
      const buckets = family.samples.filter((s) => s.name.endsWith('_bucket'));
      expect(buckets.map((s) => s.labels['le'])).toEqual([...DEFAULT_METRICS_HISTOGRAM_BUCKETS.map(String), '+Inf']);
      expect(buckets[0]!.labels).toEqual({
        handler_func: 'sum',
        hostname: EXPECTED_HOSTNAME,
        k8s_namespace: EXPECTED_NAMESPACE,
        pattern: 'math.sum',
        signed_payload: 'True',
        tls: 'True',
        le: '0.0005',
      });
      const families = await scrape(registry);
      expect(sampleValue(families, 'arrpc_server_req_duration_seconds_bucket', { le: '0.005' })).toBe(1);
      expect(sampleValue(families, 'arrpc_server_req_duration_seconds_bucket', { le: '+Inf' })).toBe(2);
      expect(sampleValue(families, 'arrpc_server_req_duration_seconds_count')).toBe(2);
    });

    it('takes custom buckets, and writes pattern "" when no handler ran', async () => {
      const registry = new Registry();
      const connection = createServerMetricsRecorder({ registry, histogram: { buckets: [0.1, 1] } }).forConnection(
        '10.0.0.6',
        false,
      );
      connection.request('', 'random-1', false, 0.05, 1);
      connection.request('', 'random-2', false, 0.05, 1);

      const family = (await scrape(registry)).get(ARRPC_METRIC_NAMES.serverReqDurationSeconds)!;
      expect(family.samples.map((s) => `${s.name}${s.labels['le'] ?? ''}:${s.labels['pattern']}:${s.value}`)).toEqual([
        'arrpc_server_req_duration_seconds_bucket0.1::2',
        'arrpc_server_req_duration_seconds_bucket1::2',
        'arrpc_server_req_duration_seconds_bucket+Inf::2',
        'arrpc_server_req_duration_seconds_sum::0.1',
        'arrpc_server_req_duration_seconds_count::2',
      ]);
    });
  });
});
