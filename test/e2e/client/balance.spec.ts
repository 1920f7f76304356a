// Requests spread over 3 ArrpcServers on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (DECISIONS.md "Many
// servers"): handlers that wait rather than compute, 3,000 requests with 32 in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrpcStatus, type ArrpcClientOptions, type ConnectionPool } from '../../../lib/index.js';
import { clientFactory, useCleanup } from './helpers.js';
import { countAnswers, runLoad, startReplica, type Replica } from './replicas.js';

const track = useCleanup();
const newClient = clientFactory(track);
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const TOTAL = 3_000;
const IN_FLIGHT = 32;
/** Each handler waits this long: the servers are busy for real time, not CPU. */
const WAIT_MS = 2;

let replicas: Replica[];
beforeAll(async () => {
  replicas = await Promise.all(HOSTS.map((host) => startReplica(host, host)));
});
afterAll(() => Promise.all(replicas.map((replica) => replica.close())));

function manyServers(options: ArrpcClientOptions = {}): ArrpcClientOptions {
  return { endpoints: replicas.map((replica) => replica.address), peer: 'nestjs-arrpc', pipeline: 8, poolSize: 2, timeout: 10_000, ...options };
}

describe('balancing over 3 servers', () => {
  it('power of two choices (the default) gives each server at least 20%', async () => {
    const client = newClient(manyServers());
    const results = await runLoad(TOTAL, IN_FLIGHT, (seq) => client.call('work', { ms: WAIT_MS, seq }));
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
    const counts = countAnswers(results);
    for (const host of HOSTS) expect(counts.get(host)).toBeGreaterThanOrEqual(0.2 * TOTAL);
    const pool = client.unwrap<ConnectionPool>();
    expect(pool.endpoints.map((endpoint) => [endpoint.address, endpoint.state])).toEqual(replicas.map((replica) => [replica.address, 'up']));
    // Up to poolSize connections per endpoint, opened as the load asked for them.
    for (const endpoint of pool.endpoints) expect(endpoint.connections.length).toBeLessThanOrEqual(2);
  });

  it('round-robin gives each server a third, within 3%', async () => {
    const client = newClient(manyServers({ balance: 'round-robin' }));
    const statuses: string[] = [];
    client.status.subscribe((status) => statuses.push(status));
    const ups: [string, string][] = [];
    client.on('endpoint-up', (endpoint, reason) => ups.push([endpoint, reason]));
    const results = await runLoad(TOTAL, IN_FLIGHT, (seq) => client.call('work', { ms: WAIT_MS, seq }));
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
    const counts = countAnswers(results);
    for (const host of HOSTS) expect(Math.abs(counts.get(host)! - TOTAL / 3)).toBeLessThanOrEqual(0.03 * (TOTAL / 3));
    expect(ups.sort()).toEqual(replicas.map((replica) => [replica.address, 'connected']).sort());
    expect(statuses).toEqual([ArrpcStatus.Disconnected, ArrpcStatus.Connecting, ArrpcStatus.Connected]);
  });

  it('retires connections after maxConnectionAgeMs and opens fresh ones', async () => {
    const client = newClient(manyServers({ maxConnectionAgeMs: 100, poolSize: 1 }));
    const opened: string[] = [];
    client.on('connect', (endpoint) => opened.push(endpoint));
    const started = performance.now();
    const results = await runLoad(600, 8, (seq) => client.call('work', { ms: 3, seq }));
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
    // Over at least ~2 ages (±10% jitter), each endpoint needed more than its first connection.
    expect(performance.now() - started).toBeGreaterThan(220);
    for (const replica of replicas) expect(opened.filter((endpoint) => endpoint === replica.address).length).toBeGreaterThanOrEqual(2);
  });
});
