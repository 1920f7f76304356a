import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  ARRPC_METRIC_NAMES,
  ARRPC_METRICS_OTHER_REASON,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  NOOP_CLIENT_METRICS_RECORDER,
  NOOP_SERVER_METRICS_RECORDER,
  createClientMetricsRecorder,
  createServerMetricsRecorder,
} from '../../../lib/index.js';
import { parseExposition, sampleValue } from '../../support/exposition.js';

async function scrape(registry: Registry) {
  return parseExposition(await registry.metrics());
}

describe('recorders sharing a registry', () => {
  it('lets any number of servers and clients share one registry; one scrape shows them all', async () => {
    const registry = new Registry();
    const serverA = createServerMetricsRecorder({ registry, histogram: true });
    const serverB = createServerMetricsRecorder({ registry, histogram: true });
    const clientA = createClientMetricsRecorder({ registry, histogram: true });
    const clientB = createClientMetricsRecorder({ registry });
    serverA.forConnection('10.1.0.1', false).request('h', 'p', false, 1, 10);
    serverB.forConnection('10.1.0.1', false).request('h', 'p', false, 2, 20);
    serverB.forConnection('10.1.0.1', false).secret(0);
    clientA.forEndpoint('s:1', false, false).request('p', 3, 30);
    clientB.forEndpoint('s:1', false, false).request('p', 4, 40);

    const families = await scrape(registry);
    expect([...families.keys()].sort()).toEqual(Object.values(ARRPC_METRIC_NAMES).sort());
    // The two servers (and the two clients) write into the same series.
    expect(sampleValue(families, 'arrpc_server_req_seconds_count')).toBe(2);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum')).toBe(30);
    expect(sampleValue(families, 'arrpc_client_req_seconds_sum')).toBe(7);
    expect(sampleValue(families, 'arrpc_client_req_duration_seconds_count')).toBe(1);
  });

  it('keeps separate registries apart', async () => {
    const one = new Registry();
    const two = new Registry();
    createServerMetricsRecorder({ registry: one }).forConnection('10.1.0.2', false).request('h', 'p', false, 1, 1);
    createServerMetricsRecorder({ registry: two });
    expect(sampleValue(await scrape(one), 'arrpc_server_req_seconds_count')).toBe(1);
    expect(sampleValue(await scrape(two), 'arrpc_server_req_seconds_count')).toBeUndefined();
  });

  it('refuses a registry holding a foreign metric under an arrpc name, naming it', () => {
    const registry = new Registry();
    new Counter({ name: ARRPC_METRIC_NAMES.serverErrors, help: 'mine', labelNames: ['code'], registers: [registry] });
    expect(() => createServerMetricsRecorder({ registry })).toThrow(/arrpc_server_errors_total.*did not create/);
  });
});

describe('reason bound', () => {
  it(`keeps ${DEFAULT_METRICS_MAX_ERROR_REASONS} distinct reasons by default`, async () => {
    const registry = new Registry();
    const connection = createServerMetricsRecorder({ registry }).forConnection('10.2.0.1', false);
    for (let i = 0; i <= DEFAULT_METRICS_MAX_ERROR_REASONS; i++) connection.error('h', false, `reason ${i}`);
    const errors = (await scrape(registry)).get(ARRPC_METRIC_NAMES.serverErrors)!;
    expect(errors.samples).toHaveLength(DEFAULT_METRICS_MAX_ERROR_REASONS + 1);
    expect(errors.samples.at(-1)!.labels['reason']).toBe(ARRPC_METRICS_OTHER_REASON);
  });

  it('records reasons past the bound as "other", and known ones still as themselves', async () => {
    const registry = new Registry();
    const connection = createServerMetricsRecorder({ registry, maxErrorReasons: 2 }).forConnection('10.2.0.2', false);
    for (const reason of ['a', 'b', 'c', 'a', 'd', 'b']) connection.error('h', false, reason);

    const families = await scrape(registry);
    const count = (reason: string) => sampleValue(families, 'arrpc_server_errors_total', { reason });
    expect([count('a'), count('b'), count('other'), count('c')]).toEqual([2, 2, 2, undefined]);
  });

  it('bounds one counter across label sets and recorders sharing it', async () => {
    const registry = new Registry();
    const first = createClientMetricsRecorder({ registry, maxErrorReasons: 1 });
    const second = createClientMetricsRecorder({ registry, maxErrorReasons: 1 });
    first.forEndpoint('a:1', false, false).error('refused');
    second.forEndpoint('b:2', false, false).error('reset');
    first.forEndpoint('b:2', false, false).error('refused');
    // Retries have their own bound.
    first.forEndpoint('a:1', false, false).retry('reset');

    const families = await scrape(registry);
    expect(sampleValue(families, 'arrpc_client_errors_total', { remote_address: 'a:1', reason: 'refused' })).toBe(1);
    expect(sampleValue(families, 'arrpc_client_errors_total', { remote_address: 'b:2', reason: 'other' })).toBe(1);
    expect(sampleValue(families, 'arrpc_client_errors_total', { remote_address: 'b:2', reason: 'refused' })).toBe(1);
    expect(sampleValue(families, 'arrpc_client_retries_total', { reason: 'reset' })).toBe(1);
  });

  it('records every reason as "other" with maxErrorReasons 0', async () => {
    const registry = new Registry();
    const endpoint = createClientMetricsRecorder({ registry, maxErrorReasons: 0 }).forEndpoint('a:1', false, false);
    endpoint.error('x');
    endpoint.error('y');
    const errors = (await scrape(registry)).get(ARRPC_METRIC_NAMES.clientErrors)!;
    expect(errors.samples.map((s) => [s.labels['reason'], s.value])).toEqual([['other', 2]]);
  });
});

describe('no-op recorders', () => {
  it('record nothing, say they are off, and hand out one shared object', () => {
    expect(NOOP_SERVER_METRICS_RECORDER.enabled).toBe(false);
    expect(NOOP_CLIENT_METRICS_RECORDER.enabled).toBe(false);
    const connection = NOOP_SERVER_METRICS_RECORDER.forConnection('1.2.3.4', true);
    expect(connection).toBe(NOOP_SERVER_METRICS_RECORDER.forConnection('5.6.7.8', false));
    connection.request('h', 'p', true, 1, 1);
    connection.error('h', true, 'boom');
    const endpoint = NOOP_CLIENT_METRICS_RECORDER.forEndpoint('a:1', true, true);
    endpoint.request('p', 1, 1);
    endpoint.error('boom');
    endpoint.retry('boom');
    expect(Object.isFrozen(connection) && Object.isFrozen(endpoint)).toBe(true);
  });
});
