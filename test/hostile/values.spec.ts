// Hostile values in well-framed messages against a live ArrpcServer: the rows of DECISIONS.md "What
// bad input gets" after the first. Each gets its documented answer and the connection is kept; no
// prototype anywhere changes.
import { ExtData } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageEncoder, buildEnvelope } from '../../lib/index.js';
import type { TestPeer } from '../e2e/server/helpers.js';
import { HostileController, LIMIT_BYTES, useHostileServer } from './harness.js';

const hostile = useHostileServer();
const encoder = new MessageEncoder();

const NO_HANDLER = 'arrpc.error.RpcException: There is no matching message handler defined in the remote service.';
const INVALID_KEY = /^arrpc\.error\.RpcException: invalid message: map keys must be str or bin, not /;
const INVALID_PATTERN = 'arrpc.error.RpcException: invalid message: the pattern must be a str or a map';

/** Hex with spaces to bytes. */
function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** A str's MessagePack bytes, as hex (fixstr or str 8). */
function strHex(text: string): string {
  return encoder.encode(text).toString('hex');
}

/** `{"arrpc.pattern": <patternHex>, "data": <dataHex>}` built from already-encoded parts. */
function envelopeHex(patternHex: string, dataHex = 'c0', key = 'arrpc.pattern'): string {
  return `82 ${strHex(key)} ${patternHex} ${strHex('data')} ${dataHex}`;
}

/** Writes `bytes`, returns the one answer, and proves the connection still serves. */
async function answerKept(peer: TestPeer, bytes: Buffer): Promise<unknown> {
  await peer.writeRaw(bytes);
  const answer = await peer.next();
  expect(await hostile.ask(peer, buildEnvelope('request', 'echo', 'still served'))).toBe('still served');
  expect(peer.closed).toBe(false);
  return answer;
}

describe('unknown ext types: echoed as ext', () => {
  it.each([
    ['fixext 1 of type 5', 'd4 05 aa', 5, 'aa'],
    ['fixext 16 of type 127', `d8 7f ${'ab'.repeat(16)}`, 127, 'ab'.repeat(16)],
    ['ext 8 of type -128', 'c7 03 80 01 02 03', -128, '010203'],
    ['ext 8 of length 0', 'c7 00 05', 5, ''],
    ['ext 16 of type 42, 300 bytes', `c8 01 2c 2a ${'5a'.repeat(300)}`, 42, '5a'.repeat(300)],
    ['ext 32 of type 1 holding 10 bytes', `c9 00 00 00 0a 01 ${'11'.repeat(10)}`, 1, '11'.repeat(10)],
    ['type -1 (timestamp) of a length no timestamp has', 'c7 03 ff 01 02 03', -1, '010203'],
    ['type -1 (timestamp) with nanoseconds over 999,999,999', 'd7 ff ff ff ff ff 00 00 00 00', -1, 'ffffffff00000000'],
  ])('%s', async (_name, ext, type, data) => {
    const peer = await hostile.connect();
    for (const message of [hex(ext), hex(`${envelopeHex(strHex('echo'), `91 ${ext}`)}`)]) {
      const answer = await answerKept(peer, message);
      const value = (Array.isArray(answer) ? answer[0] : answer) as ExtData;
      expect(value).toBeInstanceOf(ExtData);
      expect(value.type).toBe(type);
      expect(Buffer.from(value.data as Uint8Array).toString('hex')).toBe(data);
    }
    await hostile.expectHealthy();
  });
});

describe('map keys that are not str or bin: invalid message, connection kept', () => {
  it.each([
    ['a positive int', '81 01 a1 78', /int/],
    ['a negative int', '81 e0 a1 78', /int/],
    ['a uint 64', '81 cf ff ff ff ff ff ff ff ff a1 78', /int/],
    ['a float', '81 cb 3f f8 00 00 00 00 00 00 a1 78', /float/],
    ['nil', '81 c0 a1 78', /nil$/],
    ['true', '81 c3 a1 78', /boolean$/],
    ['an array', '81 91 01 a1 78', /an array$/],
    ['an empty array', '81 90 a1 78', /an array$/],
    ['a map', '81 81 a1 61 01 a1 78', /a map$/],
    ['an ext', '81 d4 05 00 a1 78', /not /],
    ['an int, deep inside arrays', '91 91 91 81 01 a1 78', /int/],
    ['an int, second of three keys', '83 a1 61 01 02 02 a1 63 03', /int/],
  ])('%s', async (_name, value, kind) => {
    const peer = await hostile.connect();
    for (const message of [hex(value), hex(envelopeHex(strHex('echo'), value))]) {
      const answer = await answerKept(peer, message);
      expect(answer).toMatch(INVALID_KEY);
      expect(answer).toMatch(kind);
    }
    await hostile.expectHealthy();
  });

  it('takes a bin key as its UTF-8 text', async () => {
    const peer = await hostile.connect();
    expect(await answerKept(peer, hex('81 c4 03 6b 65 79 01'))).toEqual({ key: 1 });
  });
});

describe('duplicate keys: the last wins', () => {
  it.each([
    ['in a plain map', '83 a1 61 01 a1 62 02 a1 61 03', { a: 3, b: 2 }],
    ['three times the same key', '83 a1 61 01 a1 61 02 a1 61 03', { a: 3 }],
    ['an envelope\'s pattern', `83 ${strHex('arrpc.pattern')} ${strHex('nope')} ${strHex('arrpc.pattern')} ${strHex('echo')} ${strHex('data')} 07`, 7],
    ['an envelope\'s data', `83 ${strHex('arrpc.pattern')} ${strHex('echo')} ${strHex('data')} 01 ${strHex('data')} 02`, 2],
    ['__proto__ twice', `82 ${strHex('__proto__')} 01 ${strHex('__proto__')} 02`, JSON.parse('{"__proto__": 2}')],
  ])('%s', async (_name, value, expected) => {
    const peer = await hostile.connect();
    expect(await answerKept(peer, hex(value))).toEqual(expected);
    await hostile.expectHealthy();
  });
});

describe('__proto__, constructor and prototype keys: own keys, no prototype touched', () => {
  const prototypes = [Object.prototype, Array.prototype, Function.prototype, Uint8Array.prototype, ExtData.prototype];
  let snapshot: string[][];
  beforeAll(() => {
    snapshot = prototypes.map((proto) => Reflect.ownKeys(proto).map(String));
  });
  afterAll(() => {
    expect(prototypes.map((proto) => Reflect.ownKeys(proto).map(String))).toEqual(snapshot);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  const poison = { polluted: true };
  const own = (key: string): Record<string, unknown> => JSON.parse(`{${JSON.stringify(key)}: {"polluted": true}}`) as Record<string, unknown>;

  it.each([
    ['__proto__', own('__proto__')],
    ['constructor', { constructor: { prototype: poison } }],
    ['prototype', { prototype: poison }],
    ['all three, nested in an array', [own('__proto__'), { constructor: { prototype: poison } }, { prototype: poison }]],
    ['__proto__ holding __proto__', JSON.parse('{"__proto__": {"__proto__": {"polluted": true}}}')],
  ])('%s: echoed as own keys, plain and inside an envelope', async (_name, value) => {
    const peer = await hostile.connect();
    const bytes = encoder.encode(value);
    // The server's answer must be the same bytes: same own keys, same order, nothing inherited.
    for (const message of [bytes, encoder.encode(buildEnvelope('request', 'echo', value))]) {
      const answer = await answerKept(peer, message);
      expect(encoder.encode(answer)).toEqual(bytes);
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(value)).toBe(Array.isArray(value) ? Array.prototype : Object.prototype);
    await hostile.expectHealthy();
  });

  it.each([
    ['the meta of a request', buildEnvelope('request', 'echo', 1, JSON.parse('{"__proto__": "x", "constructor": "y", "prototype": "z"}')), 1],
    ['an object pattern', { 'arrpc.pattern': JSON.parse('{"__proto__": {"polluted": true}, "cmd": "echo"}'), data: 1 }, NO_HANDLER],
    ['an event\'s data', buildEnvelope('event', 'noted', own('__proto__')), null],
    ['an event\'s object pattern', { 'arrpc.event': own('__proto__'), data: 1 }, null],
  ])('in %s: served, no prototype touched', async (_name, value, expected) => {
    const peer = await hostile.connect();
    expect(await answerKept(peer, encoder.encode(value))).toEqual(expected);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    await hostile.expectHealthy();
  });
});

describe('other odd but valid values: served like any value', () => {
  it.each([
    ['NaN', 'cb 7f f8 00 00 00 00 00 00', Number.NaN],
    ['-Infinity', 'cb ff f0 00 00 00 00 00 00', -Infinity],
    ['-0', 'cb 80 00 00 00 00 00 00 00', -0],
    ['invalid UTF-8 in a str (read as U+FFFD)', 'a3 61 ff 62', 'a\ufffdb'],
    ['a str 32 header for 3 bytes', 'db 00 00 00 03 61 62 63', 'abc'],
    ['a map 32 header for one pair', 'df 00 00 00 01 a1 61 01', { a: 1 }],
    ['an empty map, nil, an empty bin', '93 80 c0 c4 00', [{}, null, new Uint8Array(0)]],
  ])('%s', async (_name, value, expected) => {
    const peer = await hostile.connect();
    expect(await answerKept(peer, hex(value))).toEqual(expected);
    await hostile.expectHealthy();
  });

  it.each([
    ['an int', 5],
    ['a map of int values', { a: 1 }],
    ['a map holding a map', { a: { b: 'c' } }],
    ['an arrpc-timeout-ms that is negative', { 'arrpc-timeout-ms': '-1' }],
    ['an arrpc-timeout-ms in exponent form', { 'arrpc-timeout-ms': '1e9' }],
    ['an arrpc-timeout-ms of 20 digits', { 'arrpc-timeout-ms': '9'.repeat(20) }],
    ['an empty arrpc-timeout-ms', { 'arrpc-timeout-ms': '' }],
  ])('a meta that is %s: ignored, the request served', async (_name, meta) => {
    const peer = await hostile.connect();
    expect(await answerKept(peer, encoder.encode({ 'arrpc.pattern': 'echo', data: 'served', meta }))).toBe('served');
    await hostile.expectHealthy();
  });
});

describe('Nest envelopes with hostile patterns', () => {
  /** A map pattern nested `depth` levels deep: {"k": {"k": ... "echo"}}. */
  function nestedPattern(depth: number): string {
    return `${`81 ${strHex('k')} `.repeat(depth)}${strHex('echo')}`;
  }

  it('a map pattern nested 90 levels deep (within maxDepth): no handler, kept', async () => {
    const peer = await hostile.connect();
    expect(await answerKept(peer, hex(envelopeHex(nestedPattern(90))))).toBe(NO_HANDLER);
    expect(await answerKept(peer, hex(envelopeHex(nestedPattern(90), 'c0', 'arrpc.event')))).toBeNull();
    await hostile.expectHealthy();
  });

  it.each([
    ['101 levels', 101],
    ['100,000 levels', 100_000],
  ])('a map pattern nested %s deep: over maxDepth, the connection closed after earlier answers', async (_name, depth) => {
    await hostile.expectBreach(hex(envelopeHex(nestedPattern(depth))), /protocol breach: nesting depth 101 exceeds the limit of 100/);
    await hostile.expectHealthy();
  });

  it('a str pattern near maxMessageBytes: no handler, kept', async () => {
    const peer = await hostile.connect();
    const pattern = 'p'.repeat(LIMIT_BYTES - 64);
    const bytes = encoder.encode(buildEnvelope('request', pattern, null));
    expect(bytes.length).toBeLessThanOrEqual(LIMIT_BYTES);
    expect(bytes.length).toBeGreaterThan(LIMIT_BYTES - 100);
    expect(await answerKept(peer, bytes)).toBe(NO_HANDLER);
    expect(await answerKept(peer, encoder.encode(buildEnvelope('event', pattern, null)))).toBeNull();
    await hostile.expectHealthy();
  });

  it('a map pattern of 5,000 keys near maxMessageBytes: no handler, kept', async () => {
    const peer = await hostile.connect();
    const pattern = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i]));
    const bytes = encoder.encode(buildEnvelope('request', pattern, null));
    expect(bytes.length).toBeLessThanOrEqual(LIMIT_BYTES);
    expect(await answerKept(peer, bytes)).toBe(NO_HANDLER);
    await hostile.expectHealthy();
  });

  it.each([
    ['an int', '2a'],
    ['nil', 'c0'],
    ['false', 'c2'],
    ['a float', 'cb 40 09 21 fb 54 44 2d 18'],
    ['an array', `91 ${strHex('echo')}`],
    ['a bin', 'c4 04 65 63 68 6f'],
    ['an ext', 'd4 05 00'],
    ['a timestamp', 'd6 ff 00 00 00 01'],
  ])('a pattern that is %s: invalid message, kept', async (_name, pattern) => {
    const peer = await hostile.connect();
    expect(await answerKept(peer, hex(envelopeHex(pattern)))).toBe(INVALID_PATTERN);
    expect(await answerKept(peer, hex(envelopeHex(pattern, 'c0', 'arrpc.event')))).toBe(INVALID_PATTERN);
    await hostile.expectHealthy();
  });

  it('a map pattern holding values JSON cannot write (uint 64, bin, ext): no handler, kept', async () => {
    const peer = await hostile.connect();
    const pattern = `83 ${strHex('a')} cf ff ff ff ff ff ff ff ff ${strHex('b')} c4 01 00 ${strHex('c')} d4 05 00`;
    expect(await answerKept(peer, hex(envelopeHex(pattern)))).toBe(NO_HANDLER);
    expect(await answerKept(peer, hex(envelopeHex(pattern, 'c0', 'arrpc.event')))).toBeNull();
    await hostile.expectHealthy();
  });

  it('an envelope holding both arrpc.pattern and arrpc.event: invalid message, kept', async () => {
    const peer = await hostile.connect();
    const answer = await answerKept(peer, encoder.encode({ 'arrpc.pattern': 'echo', 'arrpc.event': 'noted', data: 1 }));
    expect(answer).toMatch(/^arrpc\.error\.RpcException: invalid message: /);
    await hostile.expectHealthy();
  });

  it.each([
    ['a str pattern', buildEnvelope('event', 'nobody.listens', { a: 1 })],
    ['a map pattern', buildEnvelope('event', { cmd: 'nobody.listens' }, null)],
    ['no data key', { 'arrpc.event': 'nobody.listens' }],
  ])('an arrpc.event with %s and no handler: nil ack, kept', async (_name, event) => {
    const peer = await hostile.connect();
    const before = HostileController.events;
    expect(await answerKept(peer, encoder.encode(event))).toBeNull();
    expect(HostileController.events).toBe(before);
    await hostile.expectHealthy();
  });
});
