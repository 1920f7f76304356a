import { describe, expect, it } from 'vitest';
import { ExtData } from '@msgpack/msgpack';
import {
  ArrpcProtocolError,
  ArrpcProtocolErrorCode,
  ArrpcTimestamp,
  MessageDecoder,
  MessageEncoder,
  SharedBudget,
  type DecoderLimits,
} from '../../../lib/index.js';

interface Decoded {
  value: unknown;
  byteLength: number;
  refusal?: string;
}

/** Feeds `chunks` in order and collects every message. */
function feed(chunks: Uint8Array[], limits?: DecoderLimits, decoder = new MessageDecoder(limits)): Decoded[] {
  const out: Decoded[] = [];
  for (const chunk of chunks) {
    decoder.write(chunk, (value, byteLength, refusal) => {
      out.push(refusal ? { value, byteLength, refusal: refusal.code } : { value, byteLength });
    });
  }
  return out;
}

const bytes = (hex: string) => Buffer.from(hex, 'hex');

/** Throws unless feeding `hex` breaks the limit with `code`. */
function expectBreach(hex: string, code: string, limits?: DecoderLimits) {
  let caught: unknown;
  try {
    feed([bytes(hex)], limits);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ArrpcProtocolError);
  expect((caught as ArrpcProtocolError).code).toBe(code);
  return caught as ArrpcProtocolError;
}

const MIXED =
  '8ba173aa68c3a96c6c6f20e29c93a1692aa36e6567f9a3626967cf8000000000000005a166cb3ff8000000000000ab77686f6c655f666c6f6174cb4000000000000000a174c3a16ec0a362696ec4030001ffa46c6973749301a374776f91cb4008000000000000a66e657374656481a16181a16281a16390';

describe('MessageDecoder', () => {
  it('yields a value split at every byte position', () => {
    const whole = bytes(MIXED);
    const [expected] = feed([whole]);
    for (let cut = 1; cut < whole.length; cut++) {
      expect(feed([whole.subarray(0, cut), whole.subarray(cut)])).toEqual([expected]);
    }
    expect(feed([...whole].map((byte) => Uint8Array.of(byte)))).toEqual([expected]);
  });

  it('yields several values from one chunk, in order, with their sizes', () => {
    expect(feed([bytes('81a1610181a16202c0')])).toEqual([
      { value: { a: 1 }, byteLength: 4 },
      { value: { b: 2 }, byteLength: 4 },
      { value: null, byteLength: 1 },
    ]);
  });

  it('keeps a value spread over many chunks', () => {
    const big = new MessageEncoder().encode(new Uint8Array(70_000).fill(7));
    const chunks = [];
    for (let at = 0; at < big.length; at += 4096) chunks.push(big.subarray(at, at + 4096));
    const [message] = feed(chunks);
    expect(message!.byteLength).toBe(70_005);
    expect(message!.value).toEqual(new Uint8Array(70_000).fill(7));
  });

  it('reads 64-bit integers as numbers while safe, as bigints beyond', () => {
    expect(feed([bytes('cf001fffffffffffff')])[0]!.value).toBe(Number.MAX_SAFE_INTEGER);
    expect(feed([bytes('cf0020000000000000')])[0]!.value).toBe(2n ** 53n);
    expect(feed([bytes('d3ffe0000000000001')])[0]!.value).toBe(Number.MIN_SAFE_INTEGER);
    expect(feed([bytes('d3ffe0000000000000')])[0]!.value).toBe(-(2n ** 53n));
    expect(feed([bytes('cf0000000100000000')])[0]!.value).toBe(4294967296);
  });

  it('reads bin as a Uint8Array copy and bin keys as their UTF-8 text', () => {
    const chunk = bytes('81c401ffc40201 02'.replace(/ /g, ''));
    const [message] = feed([chunk]);
    chunk.fill(0);
    expect(message!.value).toEqual({ '\ufffd': new Uint8Array([1, 2]) });
    expect(feed([bytes('81c402686901')])[0]!.value).toEqual({ hi: 1 });
  });

  it('keeps __proto__, constructor and prototype keys as own data, touching no prototype', () => {
    const encoded = new MessageEncoder().encode(
      new Map<string, unknown>([
        ['__proto__', { polluted: true }],
        ['constructor', 'c'],
        ['prototype', 'p'],
      ]),
    );
    const value = feed([encoded])[0]!.value as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')!.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('lets the last of duplicate keys win', () => {
    expect(feed([bytes('82a16101a16102')])[0]!.value).toEqual({ a: 2 });
  });

  it.each([
    ['int', '810102'],
    ['nil', '81c002'],
    ['array', '81910102'],
    ['map', '8181a16101a162'],
  ])('refuses a map with a %s key but keeps the stream in step', (_kind, hex) => {
    const messages = feed([bytes(hex + 'a26f6b')]);
    expect(messages).toHaveLength(2);
    expect(messages[0]!.refusal).toBe(ArrpcProtocolErrorCode.InvalidMapKey);
    expect(messages[1]).toEqual({ value: 'ok', byteLength: 3 });
  });

  it('reads timestamps as ArrpcTimestamp and other ext types as ExtData', () => {
    expect(feed([bytes('d7ff0000001400000001')])[0]!.value).toEqual(new ArrpcTimestamp(1, 5));
    expect(feed([bytes('c70307010203')])[0]!.value).toEqual(new ExtData(7, new Uint8Array([1, 2, 3])));
    // A timestamp of a length the format does not define stays raw, so it is echoed unchanged.
    expect(feed([bytes('d5ff0102')])[0]!.value).toEqual(new ExtData(-1, new Uint8Array([1, 2])));
  });

  it('refuses the reserved byte 0xc1', () => {
    expectBreach('c1', ArrpcProtocolErrorCode.InvalidByte);
  });

  it.each([
    ['str 32', 'dbffffffff'],
    ['bin 32', 'c6ffffffff'],
    ['array 32', 'ddffffffff'],
    ['map 32', 'dfffffffff'],
    ['ext 32', 'c9ffffffff01'],
  ])('fails at once on a %s claiming 2^32-1 items, before any of them arrive', (_kind, hex) => {
    const error = expectBreach(hex, ArrpcProtocolErrorCode.MaxMessageBytes);
    expect(error.limit).toBe(16 * 1024 * 1024);
    expect(error.value).toBeGreaterThan(error.limit!);
  });

  it('accepts a message of exactly maxMessageBytes and refuses one byte more', () => {
    const limits = { maxMessageBytes: 100 };
    const fits = new MessageEncoder().encode('x'.repeat(98));
    expect(fits.length).toBe(100);
    expect(feed([fits], limits)).toHaveLength(1);
    expectBreach(new MessageEncoder().encode('x'.repeat(99)).toString('hex'), ArrpcProtocolErrorCode.MaxMessageBytes, limits);
  });

  it('counts a message arriving piecewise against the budget', () => {
    const decoder = new MessageDecoder({ maxMessageBytes: 10 });
    const onMessage = () => {};
    decoder.write(bytes('92c4050102030405'), onMessage);
    expect(decoder.hasPartialMessage).toBe(true);
    expect(() => decoder.write(bytes('c40501'), onMessage)).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.MaxMessageBytes, value: 15, limit: 10 }),
    );
  });

  it('charges each value and container beside its bytes, so tiny values cannot decode to many times the limit', () => {
    const limits = { maxMessageBytes: 1024 * 1024 };
    const arrayOf = (count: number, item: string) => bytes(`dd${count.toString(16).padStart(8, '0')}${item.repeat(count)}`);
    // 100,000 nils and 10,000 empty maps fit; 400,000 empty maps (400 KB) would hold about 26 MB.
    expect(feed([arrayOf(100_000, 'c0')], limits)).toHaveLength(1);
    expect(feed([arrayOf(10_000, '80')], limits)).toHaveLength(1);
    const error = expectBreach(arrayOf(400_000, '80').toString('hex'), ArrpcProtocolErrorCode.MaxMessageBytes, limits);
    expect(error.message).toMatch(/^decoded message cost \d+ exceeds the limit of \d+$/);
    expect(error.limit).toBe(3 * 1024 * 1024 + 64 * 1024);
  });

  it('refuses a count whose slots alone break the cost budget, on its header', () => {
    // 400,000 items need 400,000 bytes, within 1 MiB, and 3.6 MB of slots, beyond its 3 MiB + 64 KiB.
    const error = expectBreach('dd00061a80', ArrpcProtocolErrorCode.MaxMessageBytes, { maxMessageBytes: 1024 * 1024 });
    expect(error.message).toMatch(/^decoded message cost/);
  });

  it('holds a partial message against a shared budget, gives it back when done or reset, and fails past it', () => {
    const shared = new SharedBudget(100);
    const first = new MessageDecoder({ shared });
    const second = new MessageDecoder({ shared });
    const seen: unknown[] = [];
    first.write(bytes('c450'), () => {}); // bin 8 of 80 bytes: its 2 header bytes wait
    expect(shared.inUse).toBe(2);
    first.write(Buffer.alloc(30), () => {});
    expect(shared.inUse).toBe(32);
    second.write(bytes('c450'), () => {});
    second.write(Buffer.alloc(30), () => {});
    expect(shared.inUse).toBe(64);
    expect(() => first.write(Buffer.alloc(40), () => {})).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.MaxBufferedBytes, limit: 100, value: 104 }),
    );
    expect(shared.inUse).toBe(32); // the failed decoder was reset and gave back its part
    second.write(Buffer.alloc(50), (value) => seen.push(value));
    expect(seen).toEqual([new Uint8Array(80)]);
    expect(shared.inUse).toBe(0);
    second.write(bytes('92c0'), () => {});
    expect(shared.inUse).toBeGreaterThan(0);
    second.reset();
    expect(shared.inUse).toBe(0);
  });

  it('refuses nesting deeper than maxDepth', () => {
    expect(feed([bytes('919191c0')], { maxDepth: 3 })).toHaveLength(1);
    expectBreach('91919191c0', ArrpcProtocolErrorCode.MaxDepth, { maxDepth: 3 });
    const error = expectBreach('91'.repeat(100_000), ArrpcProtocolErrorCode.MaxDepth);
    expect(error.limit).toBe(100);
  });

  it('reports a partial message, and is usable again after a breach', () => {
    const decoder = new MessageDecoder();
    const seen: unknown[] = [];
    decoder.write(bytes('82a161'), (value) => seen.push(value));
    expect(decoder.hasPartialMessage).toBe(true);
    decoder.write(bytes('01a16202'), (value) => seen.push(value));
    expect(decoder.hasPartialMessage).toBe(false);
    expect(() => decoder.write(bytes('c1'), () => {})).toThrowError(ArrpcProtocolError);
    expect(decoder.hasPartialMessage).toBe(false);
    decoder.write(bytes('a26f6b'), (value) => seen.push(value));
    expect(seen).toEqual([{ a: 1, b: 2 }, 'ok']);
  });

  it('decodes invalid UTF-8 in a str with U+FFFD', () => {
    expect(feed([bytes('a2c328')])[0]!.value).toBe('\ufffd(');
  });

  it('reads ASCII and non-ASCII strings on both sides of the short-string path', () => {
    for (const text of ['a', 'x'.repeat(16), 'y'.repeat(17), 'é'.repeat(8), 'é'.repeat(9), '😀'.repeat(20)]) {
      expect(feed([new MessageEncoder().encode(text)])[0]!.value).toBe(text);
    }
  });
});

describe('MessageDecoder#decodeWhole', () => {
  it('decodes one value per call with the same decoder, also after a refused call', () => {
    const decoder = new MessageDecoder();
    expect(decoder.decodeWhole(bytes('81a3666f6fa3626172'))).toEqual({ foo: 'bar' });
    for (const [hex, code] of [
      ['82a161', ArrpcProtocolErrorCode.Incomplete],
      ['0102', ArrpcProtocolErrorCode.ExtraBytes],
      ['c1', ArrpcProtocolErrorCode.InvalidByte],
      ['8101c0', ArrpcProtocolErrorCode.InvalidMapKey],
    ] as const) {
      expect(() => decoder.decodeWhole(bytes(hex)), hex).toThrowError(expect.objectContaining({ code }));
      expect(decoder.hasPartialMessage).toBe(false);
      expect(decoder.decodeWhole(bytes('a26f6b'))).toBe('ok');
    }
  });
});
