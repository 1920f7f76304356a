// Every endpoint down. Refusing connections: calls fail with ConnectException after the
// configured retries; every endpoint but the last healthy one is ejected. Dropping every request:
// the retry budget caps how many written requests are sent again.
import * as net from 'node:net';
import { Registry, type Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ArrpcStatus, ConnectException, ConnectionLostException } from '../../../lib/index.js';
import { freeServerClose, unusedPort } from '../../support/sockets.js';
import { clientFactory, errorOf, useCleanup } from './helpers.js';
import { runLoad } from './replicas.js';

const track = useCleanup();
const newClient = clientFactory(track);
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];

/** A server on `host` that accepts connections and closes each as soon as a request arrives. */
async function startDropper(host: string): Promise<{ address: string; requests: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const state = { requests: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', () => {
      state.requests++;
      socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `${host}:${port}`,
    get requests() {
      return state.requests;
    },
    close: () => freeServerClose(server, sockets),
  };
}

describe('every endpoint down', () => {
  it('fails fast without starving timers, so a caller retrying in a loop lets readmission run', async () => {
    const client = newClient({ port: await unusedPort('127.0.0.1'), retryBaseMs: 1, conMaxRetries: 1 });
    for (let i = 0; i < 3; i++) await errorOf(client.call('work', 1)); // ejected now
    let fired = false;
    setTimeout(() => (fired = true), 10);
    let calls = 0;
    while (!fired && calls < 100_000) {
      calls++;
      await client.call('work', 1).catch(() => {});
    }
    expect(fired).toBe(true);
  });

  it('fails with ConnectException after the configured retries, naming each endpoint; the last healthy one is never ejected', async () => {
    const endpoints = await Promise.all(HOSTS.map(async (host) => `${host}:${await unusedPort(host)}`));
    const client = newClient({ endpoints, conMaxRetries: 3, retryBaseMs: 20 });
    const statuses: string[] = [];
    client.status.subscribe((status) => statuses.push(status));
    const downs: string[] = [];
    client.on('endpoint-down', (endpoint, reason) => downs.push(`${endpoint} ${reason}`));

    const started = performance.now();
    const first = await errorOf(client.call('work', 1));
    const elapsed = performance.now() - started;
    expect(first).toBeInstanceOf(ConnectException);
    // One attempt on each of the first two (the call moved on at once), then the third's
    // retries, waiting 20 then 40 ms: the call never ran anywhere.
    expect(first.tried.map((entry: { endpoint: string }) => entry.endpoint).sort()).toEqual([...endpoints].sort());
    expect(first.tried.map((entry: { attempts: number }) => entry.attempts)).toEqual([1, 1, 3]);
    expect(first.message).toBe(`Failed to connect to ${first.tried.map((entry: { endpoint: string; attempts: number }) => `${entry.endpoint} with ${entry.attempts} attempts`).join(', ')}`);
    expect(elapsed).toBeGreaterThanOrEqual(20 + 40 - 5);

    // Their own retries ejected two of them (ejectAfterFailures 3); the last healthy one never
    // is: calls go on trying it, each waiting out its retries.
    await expect.poll(() => downs.length).toBe(2);
    const last = endpoints.find((endpoint) => !downs.includes(`${endpoint} ejected`))!;
    const later = await runLoad(20, 10, (seq) => client.call('work', seq));
    for (const { error } of later) {
      expect(error).toBeInstanceOf(ConnectException);
      expect((error as ConnectException).message).toMatch(new RegExp(`^Failed to connect to ${last} with [1-3] attempts$`));
    }
    expect(statuses.slice(0, 3)).toEqual([ArrpcStatus.Disconnected, ArrpcStatus.Connecting, ArrpcStatus.Disconnected]);
    expect(statuses).not.toContain(ArrpcStatus.Connected);
  });

  it('sends written requests again only within the retry budget', async () => {
    const droppers = await Promise.all(HOSTS.map((host) => startDropper(host)));
    droppers.forEach((dropper) => track(dropper));
    const registry = new Registry();
    const client = newClient({
      endpoints: droppers.map((dropper) => dropper.address),
      idempotentPatterns: true,
      retryBudget: { ratio: 0.2, minPerSecond: 0 },
      // Kept in: this test is about the budget, not ejection.
      ejectAfterFailures: 1_000,
      metrics: true,
      registry,
    });
    // All 100 calls are made before the first failure: the budget is 20% of them.
    const results = await runLoad(100, 100, (seq) => client.call('work', seq));
    for (const { error } of results) expect(error).toBeInstanceOf(ConnectionLostException);
    const written = droppers.reduce((sum, dropper) => sum + dropper.requests, 0);
    expect(written).toBe(100 + 20);
    const retries = await (registry.getSingleMetric('arrpc_client_retries_total') as Counter).get();
    const resent = retries.values.filter((value) => value.labels['reason'] === 'connection-lost').reduce((sum, value) => sum + value.value, 0);
    expect(resent).toBe(20);
  });
});
