import { describe, expect, it } from 'vitest';
import { ExtData } from '@msgpack/msgpack';
import { ArrpcTimestamp, MessageEncoder, decodeMessage, widenForPythonReader } from '../../../lib/index.js';

const encoder = new MessageEncoder();

/** A str whose whole encoding is `total` bytes. */
function strOfEncodedLength(total: number): Buffer {
  const header = total - 1 < 32 ? 1 : total - 2 < 256 ? 2 : total - 3 < 65536 ? 3 : 5;
  const bytes = encoder.encode('y'.repeat(total - header));
  expect(bytes.length).toBe(total);
  return bytes;
}

describe('widenForPythonReader', () => {
  it('leaves every other length alone', () => {
    for (const total of [1, 4095, 4097, 8191]) {
      const bytes = strOfEncodedLength(Math.max(total, 1));
      expect(widenForPythonReader(bytes)).toBe(bytes);
    }
  });

  it.each([4096, 8192, 4096 * 15])('moves a %d-byte str off the boundary, same value', (total) => {
    const bytes = strOfEncodedLength(total);
    const widened = widenForPythonReader(bytes);
    expect(widened.length % 4096).not.toBe(0);
    expect(decodeMessage(widened)).toBe(decodeMessage(bytes));
  });

  it.each([
    ['fixmap', { a: 'x'.repeat(4092 - 2) }],
    ['fixarray', ['x'.repeat(4092)]],
    ['array 16', [...Array.from({ length: 15 }, () => null), 'x'.repeat(4075)]],
    ['bin', new Uint8Array(4096 - 3)],
    ['array of negative ints', [...Array.from({ length: 4093 }, () => -1)]],
  ])('widens the first header of a %s of 4096 bytes', (_kind, value) => {
    const bytes = encoder.encode(value);
    expect(bytes.length).toBe(4096);
    const widened = widenForPythonReader(bytes);
    expect([4097, 4098]).toContain(widened.length);
    expect(decodeMessage(widened)).toEqual(value);
  });

  /** `items` values (their bytes as hex) followed by nils up to 4096 bytes, in an array 32. */
  function arrayStartingWith(headHex: string, items = 1): Buffer {
    const head = Buffer.from(headHex, 'hex');
    const nils = 4096 - 5 - head.length;
    const header = Buffer.from([0xdd, 0, 0, 0, 0]);
    header.writeUInt32BE(items + nils, 1);
    return Buffer.concat([header, head, Buffer.alloc(nils, 0xc0)]);
  }

  it.each([
    ['uint 32', 'ce80000001', 'cf0000000080000001'],
    ['int 32', 'd2ff000001', 'd3ffffffffff000001'],
    ['float 32', 'ca3fc00000', 'cb3ff8000000000000'],
    ['fixext 1', 'd40507', 'c7010507'],
    ['fixext 4 (a timestamp)', 'd6ff00000001', 'c704ff00000001'],
    ['ext 8', 'c7030501 0203'.replace(' ', ''), 'c800030501 0203'.replace(' ', '')],
    ['ext 16', 'c800030501 0203'.replace(' ', ''), 'c9000000030501 0203'.replace(' ', '')],
  ])('widens a %s behind a 32-bit header to its next-larger form, same value', (_kind, from, to) => {
    const bytes = arrayStartingWith(from);
    expect(bytes.length).toBe(4096);
    const widened = widenForPythonReader(bytes);
    expect(widened.subarray(5, 5 + to.length / 2).toString('hex')).toBe(to);
    expect(widened.length % 4096).not.toBe(0);
    expect(decodeMessage(widened)).toEqual(decodeMessage(bytes));
  });

  it('keeps an ext value\'s type and data, a timestamp included', () => {
    const value = [new ExtData(5, Uint8Array.of(7)), new ArrpcTimestamp(1, 0)];
    const bytes = encoder.encode(value);
    const padded = arrayStartingWith(bytes.subarray(1).toString('hex'), 2);
    expect((decodeMessage(widenForPythonReader(padded)) as unknown[]).slice(0, 2)).toEqual(value);
  });

  it('returns a str 32 it cannot widen as it is (documented)', () => {
    const bytes = strOfEncodedLength(4096 * 20);
    expect(widenForPythonReader(bytes)).toBe(bytes);
    // The issue's case: 69,627 bytes of text encode to 17 x 4096.
    const issue = encoder.encode('q'.repeat(69_627));
    expect(issue.length).toBe(17 * 4096);
    expect(widenForPythonReader(issue)).toBe(issue);
  });

  it('walks past headers it cannot widen to the first one it can', () => {
    // array 32 (5 bytes): nil (1), float 64 (9), fixint 7 (1), a str 16 of 4,084 bytes, 65,532 nils.
    const value: unknown[] = [null, 0.5, 7, 'z'.repeat(4081), ...Array.from({ length: 65_532 }, () => null)];
    const bytes = encoder.encode(value);
    expect(bytes.length).toBe(4096 * 17);
    const widened = widenForPythonReader(bytes);
    expect(widened.subarray(15, 17).toString('hex')).toBe('cc07');
    expect(decodeMessage(widened)).toEqual(value);
  });
});
