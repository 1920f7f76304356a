// resolve: 'dns' with a `lookup` that returns loopback addresses (127.0.0.1 to 127.0.0.4, each a
// real ArrpcServer on one shared port): every address is an endpoint, and a re-resolution
// that drops one and adds another moves new requests at once.
import type { LookupAddress } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectException, type ArrpcLookup, type ConnectionPool } from '../../../lib/index.js';
import { clientFactory, errorOf, useCleanup } from './helpers.js';
import { countAnswers, runLoad, startReplicasOnOnePort, type Replica } from './replicas.js';

const track = useCleanup();
const newClient = clientFactory(track);

/** A lookup answering from `answer` (mutable), counting calls; `fail` makes it fail. */
function fakeLookup(answer: { addresses: string[]; fail?: boolean; calls: number }): ArrpcLookup {
  return (hostname, options, callback) => {
    answer.calls++;
    expect([hostname, options.all]).toEqual(['prices-headless.default.svc', true]);
    const addresses: LookupAddress[] = answer.addresses.map((address) => ({ address, family: 4 }));
    setImmediate(() => (answer.fail ? callback(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), []) : callback(null, addresses)));
  };
}

let replicas: Replica[];
let port: number;
beforeAll(async () => {
  replicas = await startReplicasOnOnePort(['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']);
  port = replicas[0]!.port;
});
afterAll(() => Promise.all(replicas.map((replica) => replica.close())));

describe("resolve: 'dns'", () => {
  it('uses every address; after a re-resolution drops one and adds another, no new request reaches the dropped one', async () => {
    const answer = { addresses: ['127.0.0.1', '127.0.0.2', '127.0.0.3'], calls: 0 };
    const client = newClient({
      host: 'prices-headless.default.svc', port, resolve: 'dns', lookup: fakeLookup(answer), resolveIntervalMs: 100,
      peer: 'nestjs-arrpc', pipeline: 8, poolSize: 2, timeout: 10_000,
    });
    const downs: [string, string][] = [];
    let firstSeqAfter = Infinity;
    let nextSeq = 0;
    client.on('endpoint-down', (endpoint, reason) => {
      downs.push([endpoint, reason]);
      if (reason === 'removed') firstSeqAfter = nextSeq;
    });
    const call = (seq: number) => {
      nextSeq = seq + 1;
      return client.call('work', { ms: 2, seq });
    };

    const before = await runLoad(900, 32, call);
    expect(before.filter((result) => result.error !== undefined)).toEqual([]);
    const counts = countAnswers(before);
    for (const host of answer.addresses) expect(counts.get(host)).toBeGreaterThanOrEqual(0.2 * 900);
    expect(replicas[3]!.seen).toEqual([]);
    expect(client.unwrap<ConnectionPool>().endpoints.map((endpoint) => endpoint.address)).toEqual(answer.addresses.map((host) => `${host}:${port}`));

    // The next lookup drops 127.0.0.3 and adds 127.0.0.4, while the load goes on until 900
    // calls have been made after it (bounded: 5,000 calls at most).
    answer.addresses = ['127.0.0.1', '127.0.0.2', '127.0.0.4'];
    const during = await runLoad(5_000, 32, (seq) => call(900 + seq), undefined, () => nextSeq >= firstSeqAfter + 900);
    expect(during.filter((result) => result.error !== undefined)).toEqual([]);
    expect(downs).toEqual([[`127.0.0.3:${port}`, 'removed']]);
    const dropped = replicas[2]!.seen.filter((seq) => seq >= firstSeqAfter);
    expect(dropped).toEqual([]);
    const added = replicas[3]!.seen.filter((seq) => seq >= firstSeqAfter);
    expect(added.length).toBeGreaterThanOrEqual(0.2 * 900);
    expect(client.unwrap<ConnectionPool>().endpoints.map((endpoint) => endpoint.address)).toEqual(answer.addresses.map((host) => `${host}:${port}`));
    // The dropped endpoint's connections closed once their requests were answered.
    await expect.poll(() => client.unwrap<ConnectionPool>().sockets.every((socket) => socket.remoteAddress !== '127.0.0.3')).toBe(true);
  });

  it('keeps the last good set when a lookup fails, and fails calls with ConnectException when the first one does', async () => {
    const answer = { addresses: ['127.0.0.1', '127.0.0.2'], calls: 0, fail: false };
    const client = newClient({ host: 'prices-headless.default.svc', port, resolve: 'dns', lookup: fakeLookup(answer), resolveIntervalMs: 20, peer: 'nestjs-arrpc' });
    expect(await client.call('work', { ms: 0, seq: 0 })).toMatch(/^127\.0\.0\.[12]$/);
    answer.fail = true;
    const calls = answer.calls;
    await expect.poll(() => answer.calls).toBeGreaterThan(calls + 1);
    const results = await runLoad(40, 4, (seq) => client.call('work', { ms: 0, seq }));
    expect(results.filter((result) => result.error !== undefined)).toEqual([]);
    expect(client.unwrap<ConnectionPool>().endpoints).toHaveLength(2);

    const unresolvable = newClient({
      host: 'prices-headless.default.svc', port, resolve: 'dns', lookup: fakeLookup({ addresses: [], calls: 0, fail: true }),
    });
    const error = await errorOf(unresolvable.call('work', { ms: 0, seq: 0 }));
    expect(error).toBeInstanceOf(ConnectException);
    expect(error.message).toBe(`Failed to connect to prices-headless.default.svc:${port} (DNS lookup failed: getaddrinfo ENOTFOUND)`);
  });
});
