import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ARRPC_METRIC_NAMES, createClientMetricsRecorder } from '../../../lib/index.js';
import { familyShape, parseExposition, referenceFamilies, sampleValue } from '../../support/exposition.js';
import { itWithWire } from '../../support/vectors.js';
import { EXPECTED_HOSTNAME, EXPECTED_NAMESPACE } from './host.js';

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe('client recorder', () => {
  itWithWire('writes the reference families: names, types, HELP, sample names and label names, in order', async () => {
    const registry = new Registry();
    const endpoint = createClientMetricsRecorder({ registry }).forEndpoint('127.0.0.1:36333', true, false);
    endpoint.request('arrpc', 0.001, 95);
    endpoint.error('boom');

    const reference = referenceFamilies('client');
    const ours = await scrape(registry);
    // Retries are beyond the reference (checked below); everything else is the reference's.
    expect([...ours.keys()].sort()).toEqual([...reference.keys(), ARRPC_METRIC_NAMES.clientRetries].sort());
    for (const [name, family] of reference) {
      expect(familyShape(ours.get(name)!)).toEqual(familyShape(family));
    }
  });

  it('writes the reference label values: host:port, True/False, host labels', async () => {
    const registry = new Registry();
    createClientMetricsRecorder({ registry }).forEndpoint('db.internal:8080', false, true).request('arrpc', 0.5, 10);

    const [sample] = (await scrape(registry)).get(ARRPC_METRIC_NAMES.clientReqBytes)!.samples;
    expect(sample!.labels).toEqual({
      hostname: EXPECTED_HOSTNAME,
      k8s_namespace: EXPECTED_NAMESPACE,
      remote_address: 'db.internal:8080',
      signed_payload: 'False',
      tls: 'True',
    });
  });

  it('counts and sums per endpoint; the same endpoint asked twice is one label set', async () => {
    const registry = new Registry();
    const recorder = createClientMetricsRecorder({ registry });
    recorder.forEndpoint('a:1', true, false).request('x', 0.25, 100);
    recorder.forEndpoint('a:1', true, false).request('y', 0.5, 200);
    recorder.forEndpoint('b:2', true, false).request('x', 1, 5);
    expect(recorder.forEndpoint('a:1', true, false)).toBe(recorder.forEndpoint('a:1', true, false));

    const families = await scrape(registry);
    expect(sampleValue(families, 'arrpc_client_req_seconds_count', { remote_address: 'a:1' })).toBe(2);
    expect(sampleValue(families, 'arrpc_client_req_seconds_sum', { remote_address: 'a:1' })).toBe(0.75);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum', { remote_address: 'a:1' })).toBe(300);
    expect(sampleValue(families, 'arrpc_client_req_bytes_count', { remote_address: 'b:2' })).toBe(1);
  });

  it('counts errors and retries by reason (retries beyond the reference)', async () => {
    const registry = new Registry();
    const endpoint = createClientMetricsRecorder({ registry }).forEndpoint('a:1', false, false);
    endpoint.error('Timed out');
    endpoint.error('Timed out');
    endpoint.retry('connection lost');

    const families = await scrape(registry);
    expect(sampleValue(families, 'arrpc_client_errors_total', { reason: 'Timed out' })).toBe(2);
    const retries = families.get(ARRPC_METRIC_NAMES.clientRetries)!;
    expect(familyShape(retries)).toEqual({
      name: 'arrpc_client_retries_total',
      type: 'counter',
      help: 'RPC client retries',
      samples: ['arrpc_client_retries_total{hostname,k8s_namespace,reason,remote_address,signed_payload,tls}'],
    });
    expect(sampleValue(families, 'arrpc_client_retries_total', { reason: 'connection lost' })).toBe(1);
  });

  it('records latency by pattern in the opt-in histogram, keeping remote_address', async () => {
    const registry = new Registry();
    const endpoint = createClientMetricsRecorder({ registry, histogram: { buckets: [0.01] } }).forEndpoint('a:1', true, true);
    endpoint.request('math.sum', 0.001, 1);
    endpoint.request('math.sum', 0.1, 1);
    endpoint.request('arrpc', 0.1, 1);

    const families = await scrape(registry);
    const family = families.get(ARRPC_METRIC_NAMES.clientReqDurationSeconds)!;
    expect(family.type).toBe('histogram');
    expect(family.help).toBe('Time spent making client requests, by pattern');
    expect(family.samples[0]!.labelNames.filter((n) => n !== 'le')).toEqual([
      'hostname',
      'k8s_namespace',
      'pattern',
      'remote_address',
      'signed_payload',
      'tls',
    ]);
    const sum = { pattern: 'math.sum', remote_address: 'a:1' };
    expect(sampleValue(families, 'arrpc_client_req_duration_seconds_bucket', { ...sum, le: '0.01' })).toBe(1);
    expect(sampleValue(families, 'arrpc_client_req_duration_seconds_bucket', { ...sum, le: '+Inf' })).toBe(2);
    expect(sampleValue(families, 'arrpc_client_req_duration_seconds_count', { pattern: 'arrpc' })).toBe(1);
  });
});
