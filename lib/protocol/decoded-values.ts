import { ExtData } from '@msgpack/msgpack';
import { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';
import { ArrpcTimestamp, TIMESTAMP_EXT_TYPE } from './timestamp.js';

// What both readers of MessageDecoder make of the bytes they have framed, so the
// whole-message path and the token path build the same values.

/** Arrays of up to this many items are allocated at their size: growing by push gives even one item 17 slots. */
export const SHORT_ARRAY_ITEMS = 16;

/** Bytes each head byte from 0xc0 needs before its length can be read. */
export const HEADER_BYTES = [
  1, 1, 1, 1, 2, 3, 5, 3, 4, 6, 5, 9, 2, 3, 5, 9, // c0-cf
  2, 3, 5, 9, 2, 2, 2, 2, 2, 2, 3, 5, 3, 5, 3, 5, // d0-df
];

export function reservedByteError(): ArrpcProtocolError {
  return new ArrpcProtocolError(ArrpcProtocolErrorCode.InvalidByte, 'byte 0xc1 is reserved and starts no value');
}

/** A uint 64 as a number while it is safe, as a bigint beyond 2^53 - 1. */
export function readUint64(b: Buffer, p: number): number | bigint {
  const hi = b.readUInt32BE(p);
  return hi < 0x20_0000 ? hi * 0x1_0000_0000 + b.readUInt32BE(p + 4) : b.readBigUInt64BE(p);
}

/** An int 64 as a number while it is safe, as a bigint beyond ±(2^53 - 1). */
export function readInt64(b: Buffer, p: number): number | bigint {
  const hi = b.readInt32BE(p);
  if (hi >= -0x20_0000 && hi < 0x20_0000) {
    const value = hi * 0x1_0000_0000 + b.readUInt32BE(p + 4);
    if (Number.isSafeInteger(value)) return value;
  }
  return b.readBigInt64BE(p);
}

/** The bin payload of `length` bytes at `start`, in its own buffer. */
export function readBinValue(b: Buffer, start: number, length: number): Uint8Array {
  return new Uint8Array(b.subarray(start, start + length));
}

/** The ext value whose type byte is just before `start`: an {@link ArrpcTimestamp} or an `ExtData`. */
export function readExtValue(b: Buffer, start: number, length: number): ArrpcTimestamp | ExtData {
  const type = b.readInt8(start - 1);
  const data = new Uint8Array(b.subarray(start, start + length));
  return (type === TIMESTAMP_EXT_TYPE ? ArrpcTimestamp.fromExtData(data) : undefined) ?? new ExtData(type, data);
}

/**
 * Sets a key as an own data property. Plain assignment would send
 * `__proto__` to the prototype setter; `defineProperty` never does.
 */
export function setOwn(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    map[key] = value;
  }
}

/** A decoded map key as the map's key: a str as it is, a bin as its UTF-8 text; `undefined` for any other value. */
export function mapKeyText(key: unknown): string | undefined {
  if (typeof key === 'string') return key;
  if (key instanceof Uint8Array) return Buffer.from(key).toString('utf8');
  return undefined;
}

/** Why a decoded map key that is neither str nor bin makes its message refused. */
export function mapKeyRefusal(key: unknown): ArrpcProtocolError {
  return new ArrpcProtocolError(ArrpcProtocolErrorCode.InvalidMapKey, `map keys must be str or bin, not ${describeKey(key)}`);
}

function describeKey(key: unknown): string {
  if (key === null) return 'nil';
  if (Array.isArray(key)) return 'an array';
  if (key instanceof ExtData || key instanceof ArrpcTimestamp) return 'an ext value';
  if (typeof key === 'object') return 'a map';
  if (typeof key === 'number' || typeof key === 'bigint') return Number.isInteger(key) || typeof key === 'bigint' ? 'an int' : 'a float';
  return `a ${typeof key}`;
}
