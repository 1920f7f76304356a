// MessageDecoder reads a message lying whole in a chunk by recursive descent and any other
// token by token. Both must yield the same values, refusals and errors, at the same message.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MessageDecoder, MessageEncoder, SharedBudget, type DecoderLimits } from '../../../lib/index.js';
import { describeVectors, hexBytes } from '../../support/vectors.js';
import { wireValue } from '../../support/wire-values.js';

interface Outcome {
  messages: { value: unknown; byteLength: number; refusal?: string }[];
  error?: string;
  partial: boolean;
}

/** Everything a decoder fed `chunks` says: its messages, then its error or whether it holds a partial one. */
function outcome(chunks: Uint8Array[], limits?: DecoderLimits): Outcome {
  const decoder = new MessageDecoder(limits);
  const messages: Outcome['messages'] = [];
  try {
    for (const chunk of chunks) {
      decoder.write(chunk, (value, byteLength, refusal) => {
        messages.push(refusal ? { value, byteLength, refusal: `${refusal.code}: ${refusal.message}` } : { value, byteLength });
      });
    }
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { messages, error: `${code}: ${message}`, partial: false };
  }
  return { messages, partial: decoder.hasPartialMessage };
}

/** Up to this many bytes, a stream is split at every byte. */
const EVERY_CUT_BYTES = 512;
/** Places a longer stream is split at (comparing a large value is slow). */
const LONG_CUTS = 8;

/** Where to split `length` bytes in two: everywhere for short streams, spread over long ones. */
function cuts(length: number): number[] {
  if (length <= EVERY_CUT_BYTES) return Array.from({ length: Math.max(length - 1, 0) }, (_, i) => i + 1);
  return Array.from({ length: LONG_CUTS }, (_, i) => 1 + Math.floor((i * (length - 1)) / LONG_CUTS));
}

/**
 * Asserts that `bytes` in one chunk (the whole-message path), one byte per chunk (the token
 * path) and split in two at every byte (a whole-message attempt given up, then the token
 * path) all come out the same. Returns that outcome.
 */
function expectSamePaths(bytes: Uint8Array, limits?: DecoderLimits): Outcome {
  const whole = outcome([bytes], limits);
  expect(outcome([...bytes].map((byte) => Uint8Array.of(byte)), limits)).toEqual(whole);
  for (const cut of cuts(bytes.length)) {
    expect(outcome([bytes.subarray(0, cut), bytes.subarray(cut)], limits)).toEqual(whole);
  }
  return whole;
}

const OK = 'a26f6b'; // "ok", a message before and after each case
const hex = (...parts: string[]) => Buffer.from(parts.join(''), 'hex');
const str = (text: string) => {
  const bytes = Buffer.from(text);
  return (bytes.length < 32 ? (0xa0 + bytes.length).toString(16) : `d9${bytes.length.toString(16).padStart(2, '0')}`) + bytes.toString('hex');
};

describe('MessageDecoder: whole-message and token paths', () => {
  it('agree on values of every kind', () => {
    const cases: [string, unknown][] = [
      ['cf001fffffffffffff', Number.MAX_SAFE_INTEGER],
      ['cf0020000000000000', 2n ** 53n],
      ['cfffffffffffffffff', 2n ** 64n - 1n],
      ['d3ffe0000000000001', -Number.MAX_SAFE_INTEGER],
      ['d38000000000000000', -(2n ** 63n)],
      ['cb8000000000000000', -0],
      ['ca3fc00000', 1.5],
      ['c40301ff02', Uint8Array.of(1, 255, 2)],
      ['9190', [[]]],
      ['8180' + '00', undefined], // a map key that is a map: refused below
    ];
    for (const [bytes, value] of cases) {
      const result = expectSamePaths(hex(OK, bytes, OK));
      if (value !== undefined) expect(result.messages[1]!.value).toEqual(value);
    }
  });

  it('agree on timestamps and other ext values', () => {
    for (const ext of ['d6ff00000001', 'd7ff0000000400000001', 'c70cff000000010000000000000001', 'c703ff010203', 'd40501', 'c800020701']) {
      expectSamePaths(hex(OK, ext, OK));
    }
  });

  it('agree on __proto__, constructor and prototype keys, kept as own data', () => {
    const { messages } = expectSamePaths(hex(OK, '83', str('__proto__'), '81a17801', str('constructor'), 'c3', str('prototype'), 'c0', OK));
    const value = messages[1]!.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')!.value).toEqual({ x: 1 });
  });

  it('agree on refused map keys, still framing the message, and on bin keys', () => {
    for (const key of ['01', 'c0', '9101', '80', 'cb3ff8000000000000', 'd40501', 'c3']) {
      const { messages } = expectSamePaths(hex(OK, '82', str('a'), '01', key, '02', OK));
      expect(messages.map((m) => m.refusal === undefined)).toEqual([true, false, true]);
    }
    expect(expectSamePaths(hex(OK, '81c40161', '01', OK)).messages[1]).toEqual({ value: { a: 1 }, byteLength: 5 });
  });

  it('agree on the reserved byte 0xc1 and on a breach of the depth limit, at the same message', () => {
    expect(expectSamePaths(hex(OK, '91c1')).error).toMatch(/^ARRPC_ERR_INVALID_BYTE/);
    const limits = { maxDepth: 4 };
    expect(expectSamePaths(hex(OK, '91919191c0', OK), limits).messages).toHaveLength(3);
    expect(expectSamePaths(hex(OK, '9191919190', OK), limits).messages).toHaveLength(3); // an empty container opens nothing
    const deep = expectSamePaths(hex(OK, '9191919191c0', OK), limits);
    expect(deep.messages).toHaveLength(1);
    expect(deep.error).toMatch(/^ARRPC_ERR_MAX_DEPTH: nesting depth 5 exceeds the limit of 4/);
  });

  it('agree on breaches of the byte budget, whether by a value, a length claim or a count', () => {
    const limits = { maxMessageBytes: 24 };
    expect(expectSamePaths(hex(OK, str('x'.repeat(20)), OK), limits).messages).toHaveLength(3);
    for (const breach of [str('x'.repeat(30)), 'dbffffffff', 'dcffff', '92' + str('x'.repeat(18)) + str('y'.repeat(4))]) {
      const result = expectSamePaths(hex(OK, breach, OK), limits);
      expect(result.messages).toHaveLength(1);
      expect(result.error).toMatch(/^ARRPC_ERR_MAX_MESSAGE_BYTES: message size/);
    }
  });

  it('agree on a breach of the cost budget, at the same value', () => {
    // 939 empty maps: few bytes each, 73 in cost each, past 3 x 1,000 + 64 KiB at the 938th.
    const result = expectSamePaths(hex(OK, 'dc03ab', '80'.repeat(939)), { maxMessageBytes: 1000 });
    expect(result.messages).toHaveLength(1);
    expect(result.error).toBe('ARRPC_ERR_MAX_MESSAGE_BYTES: decoded message cost 68549 exceeds the limit of 68536');
  });

  it('agree on nesting deeper than the whole-message path recurses', () => {
    const depth = 600;
    const bytes = hex(OK, '91'.repeat(depth), 'c0', OK);
    const result = outcome([bytes], { maxDepth: 1000 });
    expect(result.messages).toHaveLength(3);
    expect(outcome([...bytes].map((byte) => Uint8Array.of(byte)), { maxDepth: 1000 })).toEqual(result);
  });

  it('charge a shared budget the same for a partial message, and nothing for a whole one', () => {
    const bytes = hex('93', str('x'.repeat(40)), '81', str('key'), 'c0', str('y'.repeat(10)));
    for (let cut = 1; cut < bytes.length; cut++) {
      const fast = new SharedBudget(1 << 20);
      const tokens = new SharedBudget(1 << 20);
      new MessageDecoder({ shared: fast }).write(bytes.subarray(0, cut), () => {});
      const byByte = new MessageDecoder({ shared: tokens });
      for (const byte of bytes.subarray(0, cut)) byByte.write(Uint8Array.of(byte), () => {});
      expect(fast.inUse).toBe(tokens.inUse);
    }
    const whole = new SharedBudget(1);
    expect(outcome([bytes], { shared: whole }).messages).toHaveLength(1);
    expect(whole.inUse).toBe(0);
  });

  it('read cached short strings right: non-ASCII, invalid UTF-8, at and past the cache limit, and many colliding', () => {
    const texts = ['é', 'ключ', '鍵', '🔑🔑🔑🔑', 'a'.repeat(16), 'a'.repeat(17), 'é'.repeat(8), 'é'.repeat(9)];
    for (let i = 0; i < 20_000; i++) texts.push(`k${i.toString(36)}`, `é${i}`);
    const encoder = new MessageEncoder();
    for (let round = 0; round < 2; round++) {
      for (const text of texts) {
        const [message] = outcome([encoder.encode({ [text]: text })]).messages;
        expect(message!.value).toEqual({ [text]: text });
      }
    }
    for (const invalid of ['a2fffe', 'a2e282', 'a3f09080']) {
      const expected = Buffer.from(invalid.slice(2), 'hex').toString('utf8');
      expect(expectSamePaths(hex(invalid, '81', invalid, '01')).messages.map((m) => m.value)).toEqual([expected, { [expected]: 1 }]);
    }
  });

  it('agree on generated values, several to a stream', () => {
    const encoder = new MessageEncoder();
    fc.assert(
      fc.property(fc.array(wireValue, { minLength: 1, maxLength: 3 }), (values) => {
        const stream = Buffer.concat(values.map((value) => encoder.encode(value)));
        expect(expectSamePaths(stream).messages.map((m) => m.value)).toEqual(values);
      }),
      { numRuns: 150 },
    );
  });

  it('agree on random bytes under tight limits, errors included', () => {
    const limits = { maxMessageBytes: 200, maxDepth: 3 };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        expectSamePaths(bytes, limits);
      }),
      { numRuns: 1000 },
    );
  });
});

describeVectors('MessageDecoder paths on the captured vectors', (vectors) => {
  it('agree on every turn of every case', () => {
    for (const vector of vectors.cases) {
      for (const turn of vector.wire) expectSamePaths(hexBytes(turn.hex));
      if (vector.raw_request_hex) expectSamePaths(hexBytes(vector.raw_request_hex));
    }
  });
});
