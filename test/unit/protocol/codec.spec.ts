import { describe, expect, it } from 'vitest';
import { ExtData, encode as referenceEncode } from '@msgpack/msgpack';
import {
  ArrpcProtocolError,
  ArrpcProtocolErrorCode,
  ArrpcTimestamp,
  MessageEncoder,
  decodeMessage,
} from '../../../lib/index.js';

const encoder = new MessageEncoder();
const hex = (value: unknown) => encoder.encode(value).toString('hex');

describe('MessageEncoder', () => {
  it.each([
    [0, '00'],
    [127, '7f'],
    [128, 'cc80'],
    [255, 'ccff'],
    [256, 'cd0100'],
    [65535, 'cdffff'],
    [65536, 'ce00010000'],
    [4294967296, 'cf0000000100000000'],
    [-1, 'ff'],
    [-32, 'e0'],
    [-33, 'd0df'],
    [-128, 'd080'],
    [-129, 'd1ff7f'],
    [-32769, 'd2ffff7fff'],
    [-2147483649, 'd3ffffffff7fffffff'],
    [Number.MAX_SAFE_INTEGER, 'cf001fffffffffffff'],
  ])('writes the integer %d in its smallest form', (value, expected) => {
    expect(hex(value)).toBe(expected);
  });

  it.each([
    [1.5, 'cb3ff8000000000000'],
    [-0, 'cb8000000000000000'],
    [Infinity, 'cb7ff0000000000000'],
    [2 ** 60, 'cb43b0000000000000'],
  ])('writes the non-integer or unsafe number %d as float 64', (value, expected) => {
    expect(hex(value)).toBe(expected);
  });

  it.each([
    [9223372036854775813n, 'cf8000000000000005'],
    [-9223372036854775808n, 'd38000000000000000'],
    [42n, '2a'],
    [-(2n ** 40n), 'd3ffffff0000000000'],
  ])('writes the bigint %s as Python writes the int', (value, expected) => {
    expect(hex(value)).toBe(expected);
  });

  it('refuses a bigint beyond 64 bits, a function and a symbol', () => {
    for (const value of [2n ** 64n, -(2n ** 63n) - 1n, () => 1, Symbol('s')]) {
      expect(() => encoder.encode(value)).toThrowError(
        expect.objectContaining({ code: ArrpcProtocolErrorCode.Unencodable }),
      );
    }
  });

  it.each([
    ['', 'a0'],
    ['x'.repeat(31), 'bf' + '78'.repeat(31)],
    ['x'.repeat(32), 'd920' + '78'.repeat(32)],
    ['é', 'a2c3a9'],
  ])('writes strings in the str family: %j', (value, expected) => {
    expect(hex(value)).toBe(expected);
  });

  it.each([
    ['ascii', 'plain key'],
    ['two-byte', 'héllo'],
    ['three-byte', '✓ done'],
    ['astral', 'rocket 🚀 launch'],
    ['lone high surrogate', 'a\ud800b'],
    ['lone low surrogate', '\udc00'],
    ['high surrogate at the end', 'end\ud83d'],
  ])('writes a short %s string exactly as Buffer would, both ways', (_kind, value) => {
    const expected = Buffer.from(value, 'utf8');
    const encoded = encoder.encode(value);
    expect(encoded.subarray(1)).toEqual(expected);
    expect(decodeMessage(encoded)).toBe(expected.toString('utf8'));
  });

  it('writes str 16 and 32 headers for long strings', () => {
    expect(hex('x'.repeat(300)).slice(0, 6)).toBe('da012c');
    expect(hex('x'.repeat(70000)).slice(0, 10)).toBe('db00011170');
  });

  it('writes bytes as bin 8, 16 and 32', () => {
    expect(hex(new Uint8Array([1, 2]))).toBe('c4020102');
    expect(hex(Buffer.alloc(300)).slice(0, 6)).toBe('c5012c');
    expect(hex(new Uint8Array(70000)).slice(0, 10)).toBe('c600011170');
    expect(hex(new Uint16Array([0x0102]).buffer)).toBe('c4020201');
  });

  it('writes maps in insertion order and arrays with their headers', () => {
    expect(hex({ b: 1, a: [] })).toBe('82a16201a16190');
    expect(hex(new Map<unknown, unknown>([[1, 'x']]))).toBe('8101a178');
    expect(hex(Array.from({ length: 16 }, () => null)).slice(0, 6)).toBe('dc0010');
    expect(hex(Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))).slice(0, 6)).toBe('de0010');
  });

  it('writes nil for null and undefined, and booleans', () => {
    expect(hex([null, undefined, true, false])).toBe('94c0c0c3c2');
  });

  it('writes timestamps and Dates as ext -1, and other ext types as they are', () => {
    expect(hex(new ArrpcTimestamp(1, 0))).toBe('d6ff00000001');
    expect(hex(new ArrpcTimestamp(1, 5))).toBe('d7ff0000001400000001');
    expect(hex(new Date(1500))).toBe(hex(new ArrpcTimestamp(1, 500_000_000)));
    expect(hex(new ExtData(7, new Uint8Array([1, 2, 3])))).toBe('c70307010203');
  });

  it('agrees with @msgpack/msgpack wherever that library follows Python', () => {
    const value = { s: 'héllo ✓', i: [0, 1, -1, 300, -300, 70000], f: 1.25, bin: new Uint8Array([9]), n: null };
    expect(encoder.encode(value)).toEqual(Buffer.from(referenceEncode(value)));
  });

  it('refuses a value nested past maxDepth, and a cycle', () => {
    const shallow = new MessageEncoder({ maxDepth: 3 });
    expect(shallow.encode([[[1]]]).toString('hex')).toBe('91919101');
    expect(() => shallow.encode([[[[1]]]])).toThrowError(ArrpcProtocolError);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => encoder.encode(cyclic)).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.MaxDepth }),
    );
  });

  it('keeps no large scratch buffer once a large message is encoded', () => {
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    // Each would hold over 1 MiB for good (64 MiB in all) if encoders kept their largest buffer.
    const encoders = Array.from({ length: 64 }, () => new MessageEncoder());
    for (const each of encoders) expect(each.encode(new Uint8Array(1024 * 1024)).length).toBe(1024 * 1024 + 5);
    gc();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(24 * 1024 * 1024);
    expect(encoders[0]!.encode('small').toString('hex')).toBe('a5736d616c6c');
  });

  it('returns a copy the caller owns', () => {
    const first = encoder.encode('first');
    encoder.encode('second');
    expect(first.toString('hex')).toBe('a56669727374');
  });
});

describe('decodeMessage', () => {
  it('reads exactly one value', () => {
    expect(decodeMessage(Buffer.from('81a3666f6fa3626172', 'hex'))).toEqual({ foo: 'bar' });
  });

  it('refuses missing and extra bytes', () => {
    expect(() => decodeMessage(Buffer.from('82a161', 'hex'))).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.Incomplete }),
    );
    expect(() => decodeMessage(Buffer.from('0102', 'hex'))).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.ExtraBytes }),
    );
  });

  it('refuses a map with an int key', () => {
    expect(() => decodeMessage(Buffer.from('810102', 'hex'))).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.InvalidMapKey }),
    );
  });
});
