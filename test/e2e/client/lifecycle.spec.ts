// A call's life on the client (issue "Lifecycle and bounds"): a settled call is never sent
// again, a lone server is never shunned, a timeout while connecting says so, and the queue
// of calls waiting for a connection is bounded.
import { Registry, type Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  CancelledException,
  ClientClosedException,
  ConnectException,
  QueueFullException,
  RpcTimeoutException,
} from '../../../lib/index.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { unusedPort } from '../../support/sockets.js';
import { clientFactory, delayedEcho, errorOf, sleep, startEchoServer, useCleanup } from './helpers.js';

const track = useCleanup();
const newClient = clientFactory(track);

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

describe('a lone endpoint', () => {
  it('is never ejected: once the server is back, the next call reaches it', async () => {
    const server = await startEchoServer();
    const { port } = server;
    const client = newClient({ port, conMaxRetries: 1 });
    const downs: string[] = [];
    client.on('endpoint-down', (endpoint, reason) => downs.push(`${endpoint} ${reason}`));
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'first')).toBe('first');
    await server.close();
    await expect.poll(() => client.unwrap().sockets.length).toBe(0);
    for (let i = 0; i < 5; i++) {
      const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, i));
      expect(error).toBeInstanceOf(ConnectException);
      expect(error.message).toBe(`Failed to connect to 127.0.0.1:${port} with 1 attempts`);
    }
    track(await startEchoServer(port));
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'back')).toBe('back');
    expect(downs).toEqual([]);
  });

  it('is the last healthy one left: of two refusing endpoints, one only is ejected', async () => {
    const endpoints = await Promise.all(['127.0.0.2', '127.0.0.3'].map(async (host) => `${host}:${await unusedPort(host)}`));
    const client = newClient({ endpoints, conMaxRetries: 1 });
    const downs: string[] = [];
    client.on('endpoint-down', (endpoint) => downs.push(endpoint));
    for (let i = 0; i < 8; i++) expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, i))).toBeInstanceOf(ConnectException);
    expect(downs).toHaveLength(1);
  });

  it('ejectAfterFailures: 0 turns ejection off', async () => {
    const server = track(await startEchoServer());
    const refusing = `127.0.0.1:${await unusedPort()}`;
    const client = newClient({ endpoints: [refusing, `127.0.0.1:${server.port}`], conMaxRetries: 1, ejectAfterFailures: 0, balance: 'round-robin' });
    const downs: string[] = [];
    client.on('endpoint-down', (endpoint) => downs.push(endpoint));
    for (let i = 0; i < 8; i++) expect(await client.call(ARRPC_DEFAULT_PATTERN, i)).toBe(i);
    expect(client.getOptions().ejectAfterFailures).toBe(0);
    expect(client.unwrap().endpoints.map((endpoint) => endpoint.state)).toEqual(['idle', 'up']);
    expect(downs).toEqual([]);
  });
});

describe('a timeout while connecting', () => {
  it('says so, with the last connection error as its cause', async () => {
    const port = await unusedPort();
    const client = newClient({ port, timeout: 300, retryBaseMs: 1000 });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1));
    expect(error).toBeInstanceOf(RpcTimeoutException);
    expect(error).toMatchObject({ code: 'ARRPC_ERR_TIMEOUT', timeoutMs: 300, remote: false, endpoint: `127.0.0.1:${port}` });
    expect(error.message).toBe(`Timed out while connecting to 127.0.0.1:${port} (last: ECONNREFUSED)`);
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('maxQueued', () => {
  it('fails a call at once with QueueFullException when that many already wait for a connection', async () => {
    const client = newClient({ port: await unusedPort(), maxQueued: 3, retryBaseMs: 1000, conMaxRetries: 5 });
    const controller = new AbortController();
    const waiting = [errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1, { signal: controller.signal })), errorOf(client.call(ARRPC_DEFAULT_PATTERN, 2)), errorOf(client.call(ARRPC_DEFAULT_PATTERN, 3))];
    const refused = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 4));
    expect(refused).toBeInstanceOf(QueueFullException);
    expect(refused).toMatchObject({ code: 'ARRPC_ERR_QUEUE_FULL', pattern: ARRPC_DEFAULT_PATTERN });
    expect(refused.message).toBe('3 calls already wait for a connection (maxQueued)');
    // A call that leaves the queue makes room for another.
    controller.abort();
    expect(await waiting[0]).toBeInstanceOf(CancelledException);
    waiting.push(errorOf(client.call(ARRPC_DEFAULT_PATTERN, 5)));
    await client.close();
    for (const error of (await Promise.all(waiting)).slice(1)) expect(error).toBeInstanceOf(ClientClosedException);
  });
});
