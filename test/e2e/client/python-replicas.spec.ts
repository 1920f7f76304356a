// Two servers that behave like the Python reference (test/support/python-peer.ts: one request in
// flight per connection, PROTOCOL.md part 1), on two ports of 127.0.0.1: balancing, failover and
// the `probe` option hold, and no connection ever carries two requests at once.
import { describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, ConnectionLostException, MessageEncoder, type ArrpcClientOptions } from '../../../lib/index.js';
import { startPythonPeer, type PeerHandler, type PythonPeer } from '../../support/python-peer.js';
import { clientFactory, sleep, useCleanup } from './helpers.js';
import { runLoad } from './replicas.js';

const track = useCleanup();
const newClient = clientFactory(track);

/** Answers `{ from: name }` after a short wait; `'health'` is the probe message. */
function namedHandler(name: string, state: { broken?: boolean } = {}): PeerHandler {
  return async (value) => {
    // A crash makes the reference drop the connection unanswered.
    if (state.broken) throw new Error('crash');
    if (value === 'health') return 'ok';
    await sleep(2);
    return { from: name };
  };
}

async function twoPeers(states: { broken?: boolean }[] = [{}, {}]): Promise<PythonPeer[]> {
  return Promise.all(['a', 'b'].map(async (name, i) => track(await startPythonPeer({ handler: namedHandler(name, states[i]) }))));
}

function toPeers(peers: readonly PythonPeer[], options: ArrpcClientOptions = {}): ArrpcClientOptions {
  return { endpoints: peers.map((peer) => `127.0.0.1:${peer.port}`), poolSize: 2, timeout: 5_000, retryBaseMs: 10, ...options };
}

const from = (results: { value?: unknown }[], name: string) => results.filter((result) => (result.value as { from?: string } | undefined)?.from === name).length;

describe('ArrpcClient over two Python-like servers', () => {
  it('balances, one request in flight per connection', async () => {
    const peers = await twoPeers();
    const client = newClient(toPeers(peers));
    const results = await runLoad(600, 8, (seq) => client.call(ARRPC_DEFAULT_PATTERN, { seq }));
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
    for (const name of ['a', 'b']) expect(from(results, name)).toBeGreaterThanOrEqual(0.3 * 600);
    for (const peer of peers) {
      expect(peer.maxInFlight).toBe(1);
      expect(peer.connections).toBe(2);
    }
  });

  it.each([
    ['with idempotentPatterns no request fails', true],
    ['without, only the requests in flight on it fail', false],
  ])('fails over when one closes mid-load: %s', async (_name, idempotent) => {
    const peers = await twoPeers();
    const client = newClient(toPeers(peers, idempotent ? { idempotentPatterns: [ARRPC_DEFAULT_PATTERN] } : {}));
    const results = await runLoad(600, 8, (seq) => client.call(ARRPC_DEFAULT_PATTERN, { seq }), (done) => {
      if (done === 150) void peers[0]!.close();
    });
    const failed = results.filter((result) => result.error !== undefined);
    if (idempotent) expect(failed).toEqual([]);
    // poolSize 2, one request in flight on each connection.
    else expect(failed.length).toBeLessThanOrEqual(2);
    for (const { error } of failed) expect(error).toBeInstanceOf(ConnectionLostException);
    expect(from(results, 'a')).toBeGreaterThan(0);
    expect(from(results, 'b')).toBeGreaterThan(300);
    for (const peer of peers) expect(peer.maxInFlight).toBe(1);
  });

  it('ejects a server that keeps dropping connections, and readmits it when the probe gets the expected answer', async () => {
    const states = [{ broken: false }, { broken: false }];
    const peers = await twoPeers(states);
    const client = newClient(
      toPeers(peers, { probe: { message: 'health', expect: 'ok' }, ejectionBackoffMs: 50, ejectionBackoffMaxMs: 100, idempotentPatterns: true }),
    );
    const events: string[] = [];
    client.on('endpoint-down', (endpoint, reason) => events.push(`down ${endpoint} ${reason}`));
    client.on('endpoint-up', (endpoint, reason) => events.push(`up ${endpoint} ${reason}`));
    const a = `127.0.0.1:${peers[0]!.port}`;

    states[0]!.broken = true;
    const broken = await runLoad(200, 8, (seq) => client.call(ARRPC_DEFAULT_PATTERN, { seq }));
    // Each request lost on 'a' went once more, to 'b' (within the retry budget's reserve).
    expect(broken.filter((result) => result.error !== undefined)).toEqual([]);
    expect(events.filter((event) => event.startsWith('down'))).toEqual([`down ${a} ejected`]);
    // The probes keep failing while it crashes: still out.
    await sleep(300);
    expect(events.filter((event) => event.startsWith('up') && event.includes('readmitted'))).toEqual([]);

    states[0]!.broken = false;
    await expect.poll(() => events.includes(`up ${a} readmitted`), { timeout: 2_000 }).toBe(true);
    // The probe is the configured message, sent raw as a Python client sends it.
    const probe = Buffer.from(new MessageEncoder().encode('health'));
    expect(peers[0]!.requests.some((request) => request.equals(probe))).toBe(true);
    const healthy = await runLoad(200, 8, (seq) => client.call(ARRPC_DEFAULT_PATTERN, { seq }));
    expect(healthy.filter((result) => result.error !== undefined)).toEqual([]);
    expect(from(healthy, 'a')).toBeGreaterThan(0);
    for (const peer of peers) expect(peer.maxInFlight).toBe(1);
  });
});
