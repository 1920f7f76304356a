// Hostile connection behaviour against a live ArrpcServer: a flood past maxConnections, half-open
// connections, and a peer that writes requests but never reads its answers.
import * as net from 'node:net';
import { describe, expect, it } from 'vitest';
import { MessageEncoder, buildEnvelope } from '../../lib/index.js';
import { TestPeer, sleep } from '../e2e/server/helpers.js';
import { connectRaw, type RawSocket } from '../support/sockets.js';
import { CLOSE_WITHIN_MS, mib, reportMemory, sampleMemory, useHostileServer } from './harness.js';

const MAX_CONNECTIONS = 20;
/** What the server does with a peer that never closes its side after the server ended its own. */
const LINGER_MS = 5000;

const hostile = useHostileServer({ options: { maxConnections: MAX_CONNECTIONS } });
const encoder = new MessageEncoder();

/** Connections the server holds now. */
function serverConnections(): Promise<number> {
  return new Promise((resolve, reject) =>
    hostile.server.server.unwrap<net.Server>().getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

/** Waits until the server holds `count` connections. */
async function expectServerConnections(count: number): Promise<void> {
  await expect.poll(serverConnections, { timeout: 2000 }).toBe(count);
}

describe('a connection flood beyond maxConnections (20)', () => {
  it('refuses every extra connection at once, unanswered, while the 20 served ones keep being answered', async () => {
    await expectServerConnections(1); // the bystander
    const served: TestPeer[] = [];
    for (let i = 1; i < MAX_CONNECTIONS; i++) served.push(await TestPeer.connect(hostile.port));
    await expectServerConnections(MAX_CONNECTIONS);
    hostile.logger.lines.length = 0;
    const before = await sampleMemory();

    // 200 more, each writing a request at once.
    const flood = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const raw = await connectRaw(hostile.port).catch(() => undefined);
        await raw?.write(encoder.encode(buildEnvelope('request', 'echo', 'flood'))).catch(() => undefined);
        return raw;
      }),
    );
    // During: every served connection is answered while the flood is being refused.
    const answers = await Promise.all([hostile.bystander, ...served].map((peer, i) => hostile.ask(peer, buildEnvelope('request', 'echo', i))));
    expect(answers).toEqual(Array.from({ length: MAX_CONNECTIONS }, (_, i) => i));
    for (const raw of flood) {
      if (raw === undefined) continue; // refused before the connect completed: refused too
      expect(await raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
      expect((await raw.readAvailable(0)).length).toBe(0);
      raw.destroy();
    }
    expect(await serverConnections()).toBe(MAX_CONNECTIONS);
    const dropped = hostile.logger.lines.filter((line) => /refused 127\.0\.0\.1: 20 connections open/.test(line)).length;
    expect(dropped).toBe(200);
    flood.length = 0;
    hostile.logger.lines.length = 0;
    const growth = reportMemory('flood of 200 connections past maxConnections', before, await sampleMemory());
    expect(growth).toBeLessThan(4 * 1024 * 1024);

    // After: the served ones still are, and once one leaves a new connection is taken.
    for (const [i, peer] of served.entries()) expect(await hostile.ask(peer, buildEnvelope('request', 'echo', `after ${i}`))).toBe(`after ${i}`);
    for (const peer of served) peer.destroy();
    await expectServerConnections(1);
    await hostile.expectHealthy();
  });
});

describe('half-open connections', () => {
  it('answers a request whose peer ended its side right after writing it, then closes', async () => {
    const peer = await hostile.connect();
    await peer.writeRaw(encoder.encode(buildEnvelope('request', 'echo', 'last words')));
    await peer.raw.end();
    expect(await peer.next()).toBe('last words');
    expect(await peer.raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
    await hostile.expectHealthy();
  });

  it('answers every pipelined request, slow ones included, in order before closing', async () => {
    const peer = await hostile.connect();
    await peer.writeRaw(
      Buffer.concat([
        encoder.encode(buildEnvelope('request', 'delay', 200)),
        encoder.encode(buildEnvelope('event', 'noted', null)),
        encoder.encode({ plain: true }),
        encoder.encode(buildEnvelope('request', 'echo', 'fourth')),
      ]),
    );
    await peer.raw.end();
    expect(await peer.next()).toBe(200);
    expect(await peer.next()).toBeNull();
    expect(await peer.next()).toEqual({ plain: true });
    expect(await peer.next()).toBe('fourth');
    expect(await peer.raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
    await hostile.expectHealthy();
  });

  it('closes at once a peer that ends its side without writing anything', async () => {
    const peer = await hostile.connect();
    await peer.raw.end();
    expect(await peer.raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
    expect(peer.pending).toBe(0);
    await hostile.expectHealthy();
  });

  it(`drops, ${LINGER_MS} ms after a breach, a peer that never closes its own side`, async () => {
    const count = 1; // the bystander
    await expectServerConnections(count);
    // allowHalfOpen: this peer does not answer the server's FIN with its own.
    const socket = net.connect({ port: hostile.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const ended = new Promise<number>((resolve) => socket.once('end', () => resolve(Date.now())));
    socket.write(Buffer.from([0xc1]));
    const endedAt = await ended;
    await expectServerConnections(count + 1);
    // During the linger, everyone else is served.
    expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'linger'))).toBe('linger');
    await expect.poll(serverConnections, { timeout: LINGER_MS + 2000, interval: 200 }).toBe(count);
    expect(Date.now() - endedAt).toBeGreaterThanOrEqual(LINGER_MS - 100);
    socket.destroy();
    await hostile.expectHealthy();
  }, 15_000);
});

describe('a burst of tiny requests', () => {
  it('128 KiB of 1-byte requests: all answered in order, while the bystander keeps its turn', async () => {
    // Positive fixints 0..127: each is a whole request, echoed as the same byte.
    const burst = Buffer.from(Array.from({ length: 2 * 65_536 }, (_, i) => i % 128));
    const raw = await connectRaw(hostile.port);
    const startedAt = Date.now();
    await raw.write(burst);
    const answered = raw.readBytes(burst.length, 30_000);
    let done = false;
    void answered.finally(() => (done = true)).catch(() => undefined);
    const latencies: number[] = [];
    while (!done) {
      const askedAt = Date.now();
      expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', latencies.length), 30_000)).toBe(latencies.length);
      latencies.push(Date.now() - askedAt);
      await sleep(10);
    }
    expect((await answered).equals(burst)).toBe(true);
    const took = Date.now() - startedAt;
    const worst = Math.max(...latencies);
    console.log(`[burst] 131,072 one-byte requests answered in ${took} ms; bystander asked ${latencies.length} times, worst wait ${worst} ms`);
    // Served in turns, not after the whole burst.
    expect(latencies.length).toBeGreaterThan(1);
    expect(worst).toBeLessThan(Math.max(took / 2, 100));
    raw.destroy();
    await hostile.expectHealthy();
  }, 40_000);
});

describe('a peer that never reads its answers', () => {
  /**
   * Writes `request` repeatedly, honouring the socket's backpressure (so this test's own buffers stay
   * small), until `budget` bytes are written or no write has drained for `stallMs`. Returns the bytes
   * the socket took.
   */
  async function writeUntilStalled(raw: RawSocket, batch: Buffer, budget: number, stallMs: number): Promise<number> {
    let written = 0;
    while (written < budget) {
      if (!raw.socket.write(batch)) {
        const drained = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), stallMs);
          raw.socket.once('drain', () => {
            clearTimeout(timer);
            resolve(true);
          });
        });
        if (!drained) return written;
      }
      written += batch.length;
    }
    return written;
  }

  /** `request` repeated to fill about 64 KiB, one socket read's worth. */
  function repeated(request: Buffer): Buffer {
    return Buffer.concat(Array.from({ length: Math.max(1, Math.floor(65_536 / request.length)) }, () => request));
  }

  it.each([
    ['16 KiB echo requests', repeated(encoder.encode(buildEnvelope('request', 'echo', new Uint8Array(16 * 1024))))],
    [
      // The worst case for what one read costs: a large answer clogs the socket, then one read's
      // worth of 1-byte requests each waits with its own pending handler run.
      'a 4 MiB answer, then 65,536 1-byte requests, repeated',
      Buffer.concat([encoder.encode(buildEnvelope('request', 'big', 4 * 1024 * 1024)), Buffer.alloc(65_536, 0x00)]),
    ],
  ])('%s: the server stops reading it, and holds bounded memory while 20 MB wait', async (name, batch) => {
    hostile.logger.lines.length = 0;
    const before = await sampleMemory();
    const peer = await TestPeer.connect(hostile.port);
    peer.socket.pause();
    const budget = 20 * 1024 * 1024;
    const written = await writeUntilStalled(peer.raw, batch, budget, 500);
    // During: the bystander is answered while the attacker's connection is stalled.
    expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'during'))).toBe('during');
    hostile.logger.lines.length = 0;
    const stalled = await sampleMemory();
    const growth = reportMemory(`never reads, ${name} (${mib(written)} taken by the socket before it stalled)`, before, stalled);
    console.log(`[never-reads] ${name}: the client could write ${mib(written)} of ${mib(budget)} before backpressure stopped it`);
    expect(written).toBeLessThan(budget);
    expect(growth).toBeLessThan(64 * 1024 * 1024);
    peer.destroy();
    await sleep(100);
    const released = await sampleMemory();
    reportMemory(`never reads, ${name}, after the connection closed`, before, released);
    expect(released.held - before.held).toBeLessThan(8 * 1024 * 1024);
    await hostile.expectHealthy();
  }, 20_000);
});
