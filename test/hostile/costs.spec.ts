// What a message costs while it arrives, counted per value and per container as well as in bytes
// (issue 20, item 2): a message of many tiny values is refused before it holds many times its size,
// and the messages still arriving on all connections together share one budget, maxBufferedBytes.
// Past either bound only the offending connection is closed; the others go on being served.
import { describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, MessageEncoder, buildEnvelope } from '../../lib/index.js';
import { CapturingLogger, TestPeer, startServer } from '../e2e/server/helpers.js';
import { CLOSE_WITHIN_MS, HostileController, recordEscapes, reportMemory, sampleMemory } from './harness.js';

const encoder = new MessageEncoder();
const ping = encoder.encode(buildEnvelope('request', 'arrpc.ping', null));
recordEscapes();

/** An array 32 of `count` items, each the one-byte `item`: `count` + 5 bytes on the wire. */
function arrayOfTinyValues(count: number, item: number): Buffer {
  const header = Buffer.from([0xdd, 0, 0, 0, 0]);
  header.writeUInt32BE(count, 1);
  return Buffer.concat([header, Buffer.alloc(count, item)]);
}

/** The server's debug log says it closed the connection from `port` for `reason`. */
function expectClosingLogged(logger: CapturingLogger, port: number, reason: RegExp): void {
  const tag = `127.0.0.1:${port} closing: `;
  expect(logger.lines.filter((line) => line.startsWith('debug') && line.includes(tag))).toEqual([expect.stringMatching(reason)]);
}

describe('a message of many tiny values', () => {
  it('2,000,000 empty maps (2 MB) at the default 16 MiB limit: held under 64 MB while partial, refused, others served', async () => {
    const logger = new CapturingLogger();
    const server = await startServer([HostileController], { debug: true, drainTimeoutMs: 0 }, logger);
    const attacker = await TestPeer.connect(server.port);
    const attackerPort = attacker.socket.localPort!; // read now: a closed socket forgets it
    const bystander = await TestPeer.connect(server.port);
    try {
      const message = arrayOfTinyValues(2_000_000, 0x80);
      const before = await sampleMemory();
      let peak = 0;
      // All but the last byte, so the message never completes; memory sampled as it arrives.
      for (let sent = 0; sent < message.length - 1 && !attacker.closed; sent += 256 * 1024) {
        await attacker.writeRaw(message.subarray(sent, Math.min(sent + 256 * 1024, message.length - 1)));
        await bystander.writeRaw(ping);
        expect(await bystander.next()).toBe('SERVING');
        peak = Math.max(peak, reportMemory(`2,000,000 empty maps, ${sent} bytes sent`, before, await sampleMemory()));
      }
      expect(peak).toBeLessThan(64 * 1024 * 1024);
      expect(await attacker.raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
      expectClosingLogged(logger, attackerPort, /protocol breach: decoded message cost \d+ exceeds the limit of \d+/);
      expect(await bystander.call('still here')).toBe('still here');
    } finally {
      attacker.destroy();
      bystander.destroy();
      await server.close();
    }
  });

  it('answers a message of tiny values whose cost fits', async () => {
    const server = await startServer([HostileController], { maxMessageBytes: 1024 * 1024, drainTimeoutMs: 0 });
    const peer = await TestPeer.connect(server.port);
    try {
      // 100,000 nils: 100 KB on the wire, about 0.9 MB decoded, within 3 x 1 MiB.
      expect(((await peer.call(new Array(100_000).fill(null))) as unknown[]).length).toBe(100_000);
    } finally {
      peer.destroy();
      await server.close();
    }
  });
});

describe('maxBufferedBytes: one budget for the messages still arriving on every connection', () => {
  it('closes the connection whose partial message would pass it; the others finish and are answered', async () => {
    const logger = new CapturingLogger();
    const server = await startServer(
      [HostileController],
      { debug: true, maxMessageBytes: 1024 * 1024, maxBufferedBytes: 2 * 1024 * 1024, drainTimeoutMs: 0 },
      logger,
    );
    const peers = await Promise.all([0, 1, 2, 3].map(() => TestPeer.connect(server.port)));
    try {
      const message = encoder.encode(new Uint8Array(1_000_000).fill(3)); // a plain bin of 1 MB
      const head = message.subarray(0, 900_000);
      const ports = peers.map((peer) => peer.socket.localPort!); // read now: a closed socket forgets them
      const senders = peers.slice(0, 3);
      // Two heads fit in 2 MiB, three do not: whichever arrives third closes its connection.
      await Promise.all(senders.map((peer) => peer.writeRaw(head)));
      await expect.poll(() => senders.filter((peer) => peer.closed).length, { timeout: CLOSE_WITHIN_MS }).toBe(1);
      const refused = senders.findIndex((peer) => peer.closed);
      expectClosingLogged(logger, ports[refused]!, /protocol breach: bytes held by partial messages \d+ exceeds the limit of 2097152/);
      const survivors = senders.filter((peer) => !peer.closed);
      for (const peer of survivors) await peer.writeRaw(message.subarray(900_000));
      for (const peer of survivors) expect(((await peer.next()) as Uint8Array).length).toBe(1_000_000);
      // What the finished messages held is given back: a new one fits again.
      expect(((await peers[3]!.call(new Uint8Array(1_000_000))) as Uint8Array).length).toBe(1_000_000);
      expect(await peers[3]!.call(ARRPC_DEFAULT_PATTERN)).toBe(ARRPC_DEFAULT_PATTERN);
    } finally {
      for (const peer of peers) peer.destroy();
      await server.close();
    }
  });

  it('gives back what a closed connection held', async () => {
    const server = await startServer([HostileController], { maxMessageBytes: 1024 * 1024, maxBufferedBytes: 1024 * 1024, drainTimeoutMs: 0 });
    try {
      const message = encoder.encode(new Uint8Array(1_000_000));
      for (let round = 0; round < 3; round++) {
        const quitter = await TestPeer.connect(server.port);
        await quitter.writeRaw(message.subarray(0, 900_000));
        quitter.destroy();
        await quitter.raw.waitClosed(CLOSE_WITHIN_MS);
      }
      // Retried: the server may not have seen the last quitter's close yet.
      await expect.poll(async () => {
        const probe = await TestPeer.connect(server.port);
        try {
          return ((await probe.call(new Uint8Array(1_000_000))) as Uint8Array).length;
        } catch {
          return 0;
        } finally {
          probe.destroy();
        }
      }).toBe(1_000_000);
    } finally {
      await server.close();
    }
  });
});
