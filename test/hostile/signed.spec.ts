// Forged, malformed and unsigned messages against a live ArrpcServer with authSecret: every one is
// answered with the reference's AuthException string, no handler runs, and the connection is kept
// (DECISIONS.md "What bad input gets", third row). The reference drops the connection for a `data`
// that is not bin; this project answers it like any other bad signature.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MessageEncoder, buildEnvelope } from '../../lib/index.js';
import { useHostileServer } from './harness.js';

const SECRET = 'hostile-suite-secret';
const AUTH = "arrpc.error.AuthException: Invalid or missing message signature, make sure 'auth_secret' is set/correct";

const hostile = useHostileServer({ options: { authSecret: SECRET } });
const encoder = new MessageEncoder();

/** What the handlers would have been asked: an echo request, as signed data. */
const inner = encoder.encode(buildEnvelope('request', 'echo', 'must not run'));

function hmac(bytes: Uint8Array, secret = SECRET): string {
  return createHmac('sha256', secret).update(bytes).digest('hex');
}

/** A signed envelope with the right signature over `data` (bin, or whatever is given). */
function signed(data: Uint8Array): Record<string, unknown> {
  return { 'arrpc.sign': hmac(data), data };
}

const good = hmac(inner);
const flipped = `${good.slice(0, 10)}${good[10] === '0' ? '1' : '0'}${good.slice(11)}`;

describe('signed server: every bad signature gets the AuthException string, and the connection is kept', () => {
  it.each<[string, unknown]>([
    // Missing
    ['an unsigned plain message', { a: 1 }],
    ['an unsigned Nest envelope', buildEnvelope('request', 'echo', 1)],
    ['an unsigned arrpc.ping', buildEnvelope('request', 'arrpc.ping', null)],
    ['an unsigned event', buildEnvelope('event', 'noted', 1)],
    ['a map with data and no signature', { data: inner }],
    ['a map with a signature and no data', { 'arrpc.sign': good }],
    ['nil', null],
    ['the two parts as an array', [good, inner]],
    // Wrong
    ['a signature made with another secret', { 'arrpc.sign': hmac(inner, 'another-secret'), data: inner }],
    ['the signature of other data', { 'arrpc.sign': hmac(encoder.encode('other')), data: inner }],
    ['a signature with one hex digit changed', { 'arrpc.sign': flipped, data: inner }],
    ['the right signature in upper case', { 'arrpc.sign': good.toUpperCase(), data: inner }],
    ['the right signature keyed by an empty secret', { 'arrpc.sign': hmac(inner, ''), data: inner }],
    // Wrong length or type
    ['a signature of 63 hex characters', { 'arrpc.sign': good.slice(0, 63), data: inner }],
    ['a signature of 65 hex characters', { 'arrpc.sign': `${good}0`, data: inner }],
    ['an empty signature', { 'arrpc.sign': '', data: inner }],
    ['a signature of 128 hex characters', { 'arrpc.sign': good + good, data: inner }],
    ['64 characters that are not hex', { 'arrpc.sign': 'z'.repeat(64), data: inner }],
    ['64 non-ASCII characters', { 'arrpc.sign': 'é'.repeat(64), data: inner }],
    ['the signature as bin of its hex text', { 'arrpc.sign': Buffer.from(good), data: inner }],
    ['the signature as the 32 raw digest bytes', { 'arrpc.sign': createHmac('sha256', SECRET).update(inner).digest(), data: inner }],
    ['the signature as an int', { 'arrpc.sign': 42, data: inner }],
    ['the signature as nil', { 'arrpc.sign': null, data: inner }],
    ['the signature as an array of str', { 'arrpc.sign': [good], data: inner }],
    ['the signature as a map', { 'arrpc.sign': { sign: good }, data: inner }],
    // `data` as str or not MessagePack (each with the right signature over its bytes)
    ['data as a str, signed over its UTF-8 bytes', { 'arrpc.sign': hmac(Buffer.from(inner.toString('latin1'), 'utf8')), data: inner.toString('latin1') }],
    ['data as a str of hex', { 'arrpc.sign': hmac(Buffer.from(inner.toString('hex'))), data: inner.toString('hex') }],
    ['data as an int', { 'arrpc.sign': hmac(encoder.encode(1)), data: 1 }],
    ['data as nil', { 'arrpc.sign': hmac(new Uint8Array(0)), data: null }],
    ['data that is the reserved byte 0xc1', signed(Buffer.from([0xc1]))],
    ['data that is a truncated value', signed(inner.subarray(0, inner.length - 1))],
    ['data holding two values', signed(Buffer.concat([inner, inner]))],
    ['data that is empty', signed(new Uint8Array(0))],
    ['data claiming a str of 2^32-1 bytes', signed(Buffer.from('dbffffffff616263', 'hex'))],
    ['data nested 101 levels deep', signed(Buffer.concat([Buffer.alloc(101, 0x91), Buffer.from([0x01])]))],
    // Extra keys
    ['a valid envelope with a third key', { ...signed(inner), extra: 1 }],
    ['a valid envelope with an arrpc.pattern key beside', { ...signed(inner), 'arrpc.pattern': 'echo' }],
    ['a valid envelope with a __proto__ key beside', Object.defineProperty(signed(inner), '__proto__', { value: {}, enumerable: true })],
    ['a valid envelope with its signature key twice (different values)', 'duplicate-sign'],
  ])('%s', async (_name, message) => {
    const peer = await hostile.connect();
    const bytes =
      message === 'duplicate-sign'
        ? // A map 3 with arrpc.sign twice: the last (wrong) one wins, and 2 keys remain.
          Buffer.concat([Buffer.from([0x83]), encoder.encode('arrpc.sign'), encoder.encode(good), encoder.encode('data'), encoder.encode(inner), encoder.encode('arrpc.sign'), encoder.encode(flipped)])
        : encoder.encode(message);
    await peer.writeRaw(bytes);
    expect(await peer.next()).toBe(AUTH);
    // Kept: a correctly signed request on the same connection is served next.
    expect(await hostile.ask(peer, buildEnvelope('request', 'echo', 'served'))).toBe('served');
    expect(peer.closed).toBe(false);
    await hostile.expectHealthy();
  });

  it('serves a valid envelope whose keys come in the other order', async () => {
    const peer = await hostile.connect();
    const reversed = Buffer.concat([Buffer.from([0x82]), encoder.encode('data'), encoder.encode(inner), encoder.encode('arrpc.sign'), encoder.encode(good)]);
    await peer.writeRaw(reversed);
    expect(await peer.next()).toBe('must not run');
  });

  it('answers fifty forged messages pipelined in one write, in order, then serves a signed one', async () => {
    const peer = await hostile.connect();
    const forged = Array.from({ length: 50 }, (_, i) => encoder.encode({ 'arrpc.sign': hmac(inner, `guess-${i}`), data: inner }));
    await peer.writeRaw(Buffer.concat([...forged, encoder.encode(signed(encoder.encode(buildEnvelope('request', 'echo', 'last'))))]));
    for (let i = 0; i < 50; i++) expect(await peer.next()).toBe(AUTH);
    expect(await peer.next()).toBe('last');
    await hostile.expectHealthy();
  });
});
