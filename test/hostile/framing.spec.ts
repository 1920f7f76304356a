// Hostile framing against a live ArrpcServer: the first row of DECISIONS.md "What bad input gets"
// (bytes that are not MessagePack, 0xc1, a claimed length over a limit, nesting over the depth
// limit, a message not finished in time). Each closes only the offending connection, after the
// answers to the complete requests written before it; nothing is allocated for a claimed length.
// test/e2e/server/limits.spec.ts has the plain limit checks; this file attacks them.
import { describe, expect, it } from 'vitest';
import { MessageEncoder, buildEnvelope } from '../../lib/index.js';
import { TestPeer, sleep } from '../e2e/server/helpers.js';
import {
  CLOSE_WITHIN_MS,
  INCOMPLETE_MS,
  LIMIT_BYTES,
  expectCloseLogged,
  reportMemory,
  sampleMemory,
  useHostileServer,
} from './harness.js';

const encoder = new MessageEncoder();
const hostile = useHostileServer();

/** An `echo` request exactly `total` bytes long on the wire (its data a bin 16). */
function echoRequestOfSize(total: number): Buffer {
  const overhead = encoder.encode(buildEnvelope('request', 'echo', new Uint8Array(300))).length - 300;
  const bytes = encoder.encode(buildEnvelope('request', 'echo', new Uint8Array(total - overhead).fill(7)));
  expect(bytes.length).toBe(total);
  return bytes;
}

describe('truncated values, then silence', () => {
  it.each([
    ['a str 8 missing 3 of its 5 bytes', 'd9 05 61 62'],
    ['a bin 16 missing most of its bytes', 'c5 01 00 01 02 03'],
    ['an array missing its last item', '93 01 02'],
    ['a map missing a value', '82 a1 61 01 a1 62'],
    ['a uint 16 cut after its head byte', 'cd'],
    ['a float 64 cut in its middle', 'cb 40 09 21'],
    ['an ext 8 missing its data', 'c7 04 05 01'],
    ['an envelope cut inside its pattern', '82 ad 61 72 72 70 63 2e 70 61 74 74 65 72 6e a4 65 63'],
  ])('%s: the earlier request is answered, then the incomplete timeout closes it', async (_name, truncated) => {
    const peer = await hostile.connect();
    await peer.writeRaw(Buffer.concat([encoder.encode(buildEnvelope('request', 'echo', 'first')), Buffer.from(truncated.replace(/ /g, ''), 'hex')]));
    const startedAt = Date.now();
    expect(await peer.next()).toBe('first');
    // During the silence the server serves everyone else.
    expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'during'))).toBe('during');
    expect(await peer.raw.waitClosed(INCOMPLETE_MS + CLOSE_WITHIN_MS)).toBe(true);
    const took = Date.now() - startedAt;
    expect(took).toBeGreaterThanOrEqual(INCOMPLETE_MS - 50);
    expect(took).toBeLessThan(INCOMPLETE_MS + CLOSE_WITHIN_MS);
    await expectCloseLogged(hostile.logger, peer, /message incomplete after 300 ms/);
    await hostile.expectHealthy();
  });
});

describe('slowloris', () => {
  it.each([1000, 100, 25])('one byte every %i ms: a few bytes get in, then the incomplete timeout closes it', async (intervalMs) => {
    const peer = await hostile.connect();
    // A str 8 of 200 bytes, sent one byte at a time: it could take 202 intervals to finish.
    const message = Buffer.concat([Buffer.from([0xd9, 200]), Buffer.alloc(200, 0x61)]);
    const startedAt = Date.now();
    let sent = 0;
    let checkedBystander = false;
    while (!peer.closed && sent < message.length && Date.now() - startedAt < INCOMPLETE_MS + CLOSE_WITHIN_MS) {
      await peer.writeRaw(message.subarray(sent, sent + 1)).catch(() => undefined);
      sent++;
      if (!checkedBystander && Date.now() - startedAt > INCOMPLETE_MS / 3) {
        checkedBystander = true;
        expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'during'))).toBe('during');
      }
      await peer.raw.waitClosed(intervalMs);
    }
    const took = Date.now() - startedAt;
    expect(peer.closed).toBe(true);
    expect(took).toBeGreaterThanOrEqual(INCOMPLETE_MS - 50);
    expect(took).toBeLessThan(INCOMPLETE_MS + CLOSE_WITHIN_MS);
    // Bounded: what fits in the timeout at this pace, never the whole message.
    expect(sent).toBeLessThanOrEqual(Math.ceil((INCOMPLETE_MS + CLOSE_WITHIN_MS) / intervalMs) + 1);
    expect(sent).toBeLessThan(message.length);
    expect(peer.pending).toBe(0);
    console.log(`[slowloris] one byte every ${intervalMs} ms: ${sent} byte(s) sent, closed after ${took} ms`);
    await expectCloseLogged(hostile.logger, peer, /message incomplete after 300 ms/);
    await hostile.expectHealthy();
  });

  it('is not confused with a steady stream of whole messages that never ends on a message boundary', async () => {
    // Messages of 1,000 bytes written in 701-byte pieces: no piece ends on a message boundary, yet
    // each message finishes within two pieces. The stream lasts four incomplete timeouts.
    const peer = await hostile.connect();
    const count = 60;
    const piece = 701;
    const stream = Buffer.concat(Array.from({ length: count }, (_, i) => echoRequestOfSize(1000).fill(i % 100, 900, 1000)));
    for (let offset = 0; offset < stream.length; offset += piece) {
      await peer.writeRaw(stream.subarray(offset, offset + piece));
      await sleep(((INCOMPLETE_MS * 4) / stream.length) * piece);
    }
    for (let i = 0; i < count; i++) expect(await peer.next()).toBeInstanceOf(Uint8Array);
    expect(peer.closed).toBe(false);
    await hostile.expectHealthy();
  });
});

describe('claimed lengths', () => {
  it.each([
    ['str 32', 'db ff ff ff ff'],
    ['bin 32', 'c6 ff ff ff ff'],
    ['array 32', 'dd ff ff ff ff'],
    ['map 32', 'df ff ff ff ff'],
    ['ext 32', 'c9 ff ff ff ff 05'],
    ['str 32 inside an envelope', '82 ad 61 72 72 70 63 2e 70 61 74 74 65 72 6e a4 65 63 68 6f a4 64 61 74 61 db ff ff ff ff'],
    ['str 16 claiming 65,535 bytes (3 over the limit with its header)', 'da ff ff'],
  ])('%s claiming 2^32-1 bytes: refused on its header, nothing allocated, connection closed', async (_name, header) => {
    const before = await sampleMemory();
    const peer = await hostile.connect();
    // The claim is followed by a few real bytes: a decoder that trusted it would wait and allocate.
    await hostile.expectBreach(`${header} 61 62 63`, /protocol breach: message size \d+ exceeds the limit of 65536/, peer);
    const after = await sampleMemory();
    const growth = reportMemory(`claim ${header}`, before, after);
    expect(growth).toBeLessThan(4 * 1024 * 1024);
    await hostile.expectHealthy();
  });

  it('refuses a thousand 4 GiB claims on a thousand connections without holding memory', async () => {
    hostile.logger.lines.length = 0;
    const before = await sampleMemory();
    const claims = ['db', 'c6', 'dd', 'df', 'c9'].map((head) => Buffer.from(`${head}ffffffff05`, 'hex'));
    for (let batch = 0; batch < 20; batch++) {
      // Not the fixture's connect(): it keeps its peers until the test ends, which would count here.
      const peers = await Promise.all(Array.from({ length: 50 }, () => TestPeer.connect(hostile.port)));
      await Promise.all(peers.map((peer, i) => peer.writeRaw(claims[i % claims.length]!)));
      expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', batch))).toBe(batch);
      for (const peer of peers) expect(await peer.raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
      for (const peer of peers) peer.destroy();
    }
    hostile.logger.lines.length = 0;
    const after = await sampleMemory();
    const growth = reportMemory('1,000 claims of 2^32-1 bytes', before, after);
    expect(growth).toBeLessThan(4 * 1024 * 1024);
    await hostile.expectHealthy();
  });
});

describe('nesting', () => {
  it.each([
    ['arrays', Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0x01])])],
    ['maps', Buffer.concat([Buffer.from('81a16b'.repeat(100_000), 'hex'), Buffer.from([0x01])])],
    ['arrays and maps alternating', Buffer.concat([Buffer.from('91 81a16b'.replace(/ /g, '').repeat(50_000), 'hex'), Buffer.from([0x01])])],
  ])('100,000 levels of %s: refused at level 101, no stack overflow, connection closed', async (_name, attack) => {
    const before = await sampleMemory();
    await hostile.expectBreach(attack, /protocol breach: nesting depth 101 exceeds the limit of 100/);
    const growth = reportMemory('nesting 100,000 levels', before, await sampleMemory());
    expect(growth).toBeLessThan(4 * 1024 * 1024);
    await hostile.expectHealthy();
  });
});

describe('maxMessageBytes boundary (64 KiB)', () => {
  it('answers a message of exactly maxMessageBytes, even when it arrives in 1 KiB pieces', async () => {
    const peer = await hostile.connect();
    const request = echoRequestOfSize(LIMIT_BYTES);
    await peer.writeRaw(request);
    expect(((await peer.next()) as Uint8Array).length).toBe(lengthOfData(request));
    for (let offset = 0; offset < request.length; offset += 1024) await peer.writeRaw(request.subarray(offset, offset + 1024));
    expect(((await peer.next()) as Uint8Array).length).toBe(lengthOfData(request));
    expect(peer.closed).toBe(false);
    await hostile.expectHealthy();
  });

  it('closes on a message one byte over, refused on its header before the bytes come', async () => {
    await hostile.expectBreach(echoRequestOfSize(LIMIT_BYTES + 1).subarray(0, 100), /protocol breach: message size 65537 exceeds the limit of 65536/);
    await hostile.expectHealthy();
  });

  it('closes on a message whose items add up past the limit, each under it', async () => {
    const half = encoder.encode(new Uint8Array(40_000));
    await hostile.expectBreach(Buffer.concat([Buffer.from([0x92]), half, half]), /protocol breach: message size \d+ exceeds the limit of 65536/);
    await hostile.expectHealthy();
  });
});

describe('the reserved byte 0xc1', () => {
  it.each([
    ['alone', 'c1'],
    ['as an array item', '92 01 c1'],
    ['as a map key', '81 c1 01'],
    ['as an ext type byte position is not a head: inside a map value', '82 a1 61 01 a1 62 c1'],
  ])('%s: the earlier request is answered, then the connection closed', async (_name, hex) => {
    await hostile.expectBreach(hex, /protocol breach: byte 0xc1 is reserved/);
    await hostile.expectHealthy();
  });
});

/** The length of the bin `data` an `echoRequestOfSize` request carries. */
function lengthOfData(request: Buffer): number {
  const overhead = encoder.encode(buildEnvelope('request', 'echo', new Uint8Array(300))).length - 300;
  return request.length - overhead;
}
