import { describe, expect, it } from 'vitest';
import { MessageEncoder, decodeMessage, widenForPythonReader } from '../../../lib/index.js';

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

  it('returns a str 32 it cannot widen as it is (documented)', () => {
    const bytes = strOfEncodedLength(4096 * 20);
    expect(widenForPythonReader(bytes)).toBe(bytes);
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
