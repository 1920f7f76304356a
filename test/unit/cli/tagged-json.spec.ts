import { describe, expect, it } from 'vitest';
import { ExtData } from '@msgpack/msgpack';
import { ArrpcTimestamp } from '../../../lib/index.js';
import { fromTaggedJson, toTaggedJson } from '../../../lib/cli/tagged-json.js';

describe('tagged JSON', () => {
  it.each([
    ['bin', { $bin: '00ff' }, new Uint8Array([0, 255])],
    ['big int', { $int: '9223372036854775813' }, 9223372036854775813n],
    ['-0.0', { $float: '-0.0' }, -0],
    ['inf', { $float: 'inf' }, Infinity],
    ['nan', { $float: 'nan' }, NaN],
    ['map with int keys', { $map: [[1, 'a']] }, new Map([[1, 'a']])],
    ['timestamp', { $timestamp: [1, 5] }, new ArrpcTimestamp(1, 5)],
    ['ext', { $ext: [7, '0102'] }, new ExtData(7, new Uint8Array([1, 2]))],
    ['nested', { a: [{ $bin: '01' }], b: null }, { a: [new Uint8Array([1])], b: null }],
    ['-inf', { $float: '-inf' }, -Infinity],
  ])('reads and writes %s', (_kind, tagged, value) => {
    expect(fromTaggedJson(tagged)).toEqual(value);
    expect(toTaggedJson(value)).toEqual(tagged);
  });

  it('writes plain JSON values as they are, and undefined as null', () => {
    expect(toTaggedJson({ s: 'x', n: 1.5, t: true, u: undefined })).toEqual({ s: 'x', n: 1.5, t: true, u: null });
  });

  it('reads Python float reprs, including whole values and exponents', () => {
    expect(fromTaggedJson({ $float: '2.0' })).toBe(2);
    expect(fromTaggedJson({ $float: '1e+300' })).toBe(1e300);
  });

  it('treats a tag key among others as a plain key, and keeps __proto__ an own key', () => {
    expect(fromTaggedJson({ $bin: '00', other: 1 })).toEqual({ $bin: '00', other: 1 });
    const converted = fromTaggedJson(JSON.parse('{"__proto__": {"$int": "1"}}')) as object;
    expect(Object.getPrototypeOf(converted)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(converted, '__proto__')?.value).toBe(1n);
  });

  it.each([
    ['$bin', { $bin: 'zz' }, '"zz"'],
    ['$bin', { $bin: 'abc' }, '"abc"'],
    ['$bin', { $bin: '00 ff' }, '"00 ff"'],
    ['$bin', { $bin: 255 }, '255'],
    ['$ext', { $ext: [7, '0g'] }, '"0g"'],
  ])('refuses a %s that is not hex digits in pairs: %j', (tag, tagged, shown) => {
    expect(() => fromTaggedJson(tagged)).toThrowError(`"${tag}" must be hex digits in pairs, not ${shown}`);
  });

  it('reads an empty $bin as no bytes', () => {
    expect(fromTaggedJson({ $bin: '' })).toEqual(new Uint8Array());
  });

  it('refuses a $float that is not a Python float repr', () => {
    expect(() => fromTaggedJson({ $float: 'abc' })).toThrowError(/Python float/);
  });
});
