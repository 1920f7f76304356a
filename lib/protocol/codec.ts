import { ExtData } from '@msgpack/msgpack';
import { DEFAULT_MAX_DEPTH } from '../constants.js';
import { type DecoderLimits, MessageDecoder } from './message-decoder.js';
import { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';
import { ArrpcTimestamp, TIMESTAMP_EXT_TYPE } from './timestamp.js';
import { SHORT_STRING, utf8Length, utf8Write } from './utf8.js';

const INITIAL_BUFFER_BYTES = 2048;
/** Up to this many bytes a JS loop copies a message out faster than a call into native code. */
const SHORT_COPY_BYTES = 128;
/** Past this the scratch buffer is dropped after use: large messages are rare, idle memory is not. */
const RETAINED_BUFFER_BYTES = 64 * 1024;
const UINT32_LIMIT = 0x1_0000_0000;
const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIGINT = BigInt(Number.MIN_SAFE_INTEGER);

/** Encoder settings; every field is optional. */
export interface EncoderOptions {
  /** Deepest nesting of arrays and maps written; deeper (or cyclic) values throw. Defaults to {@link DEFAULT_MAX_DEPTH}. */
  maxDepth?: number | undefined;
}

/**
 * Writes one JS value as one MessagePack value, the way Python's
 * `msgpack.packb(value, use_bin_type=True)` writes the equivalent Python
 * value: str family for strings, bin for bytes, the smallest integer form,
 * float64 for other numbers (and for -0), maps in insertion order.
 *
 * One instance reuses its scratch buffer across calls; `encode` returns a
 * copy the caller owns. Not reentrant.
 */
export class MessageEncoder {
  private readonly maxDepth: number;
  private buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
  private pos = 0;

  constructor(options?: EncoderOptions) {
    this.maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** Encodes `value`; throws {@link ArrpcProtocolError} `ARRPC_ERR_UNENCODABLE` or `ARRPC_ERR_MAX_DEPTH`. */
  encode(value: unknown): Buffer {
    this.pos = 0;
    this.write(value, 0);
    const bytes = this.pos <= SHORT_COPY_BYTES ? copyShort(this.buffer, this.pos) : Buffer.from(this.buffer.subarray(0, this.pos));
    // A long-lived encoder would otherwise hold its largest message's size for good.
    if (this.buffer.length > RETAINED_BUFFER_BYTES) this.buffer = Buffer.allocUnsafe(INITIAL_BUFFER_BYTES);
    return bytes;
  }

  private write(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        return this.writeString(value);
      case 'number':
        return this.writeNumber(value);
      case 'boolean':
        return this.writeByte(value ? 0xc3 : 0xc2);
      case 'bigint':
        return this.writeBigInt(value);
      case 'undefined':
        return this.writeByte(0xc0);
      case 'object':
        return value === null ? this.writeByte(0xc0) : this.writeObject(value, depth);
      default:
        throw new ArrpcProtocolError(
          ArrpcProtocolErrorCode.Unencodable,
          `a ${typeof value} has no MessagePack form`,
        );
    }
  }

  private writeObject(value: object, depth: number): void {
    if (Array.isArray(value)) return this.writeArray(value, depth);
    if (value instanceof Uint8Array) return this.writeBin(value);
    if (ArrayBuffer.isView(value)) {
      return this.writeBin(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
    }
    if (value instanceof ArrayBuffer) return this.writeBin(new Uint8Array(value));
    if (value instanceof ArrpcTimestamp) return this.writeExt(TIMESTAMP_EXT_TYPE, value.toExtData());
    if (value instanceof Date) {
      return this.writeExt(TIMESTAMP_EXT_TYPE, ArrpcTimestamp.fromDate(value).toExtData());
    }
    if (value instanceof ExtData) {
      const data = typeof value.data === 'function' ? value.data(this.pos) : value.data;
      return this.writeExt(value.type, data);
    }
    if (value instanceof Map) return this.writeMapEntries(value, depth);
    return this.writeRecord(value as Record<string, unknown>, depth);
  }

  /** Containers only: a cyclic value ends here instead of overflowing the stack. */
  private enter(depth: number): number {
    if (depth >= this.maxDepth) {
      throw new ArrpcProtocolError(
        ArrpcProtocolErrorCode.MaxDepth,
        `value nests deeper than the limit of ${this.maxDepth} (or is cyclic)`,
        this.maxDepth,
      );
    }
    return depth + 1;
  }

  private writeNumber(value: number): void {
    if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
      this.ensure(9);
      this.buffer[this.pos] = 0xcb; // float 64
      this.buffer.writeDoubleBE(value, this.pos + 1);
      this.pos += 9;
    } else if (value >= 0) {
      this.writeUnsigned(value);
    } else {
      this.writeNegative(value);
    }
  }

  private writeUnsigned(value: number): void {
    this.ensure(9);
    const b = this.buffer;
    const p = this.pos;
    if (value < 0x80) {
      b[p] = value; // positive fixint 0xxxxxxx
      this.pos += 1;
    } else if (value < 0x100) {
      b[p] = 0xcc; // uint 8
      b[p + 1] = value;
      this.pos += 2;
    } else if (value < 0x10000) {
      b[p] = 0xcd; // uint 16
      b.writeUInt16BE(value, p + 1);
      this.pos += 3;
    } else if (value < UINT32_LIMIT) {
      b[p] = 0xce; // uint 32
      b.writeUInt32BE(value, p + 1);
      this.pos += 5;
    } else {
      b[p] = 0xcf; // uint 64
      b.writeUInt32BE(Math.floor(value / UINT32_LIMIT), p + 1);
      b.writeUInt32BE(value % UINT32_LIMIT, p + 5);
      this.pos += 9;
    }
  }

  private writeNegative(value: number): void {
    this.ensure(9);
    const b = this.buffer;
    const p = this.pos;
    if (value >= -0x20) {
      b[p] = value & 0xff; // negative fixint 111xxxxx
      this.pos += 1;
    } else if (value >= -0x80) {
      b[p] = 0xd0; // int 8
      b.writeInt8(value, p + 1);
      this.pos += 2;
    } else if (value >= -0x8000) {
      b[p] = 0xd1; // int 16
      b.writeInt16BE(value, p + 1);
      this.pos += 3;
    } else if (value >= -0x8000_0000) {
      b[p] = 0xd2; // int 32
      b.writeInt32BE(value, p + 1);
      this.pos += 5;
    } else {
      b[p] = 0xd3; // int 64
      b.writeBigInt64BE(BigInt(value), p + 1);
      this.pos += 9;
    }
  }

  private writeBigInt(value: bigint): void {
    if (value >= MIN_SAFE_BIGINT && value <= MAX_SAFE_BIGINT) {
      return this.writeNumber(Number(value));
    }
    if (value > UINT64_MAX || value < INT64_MIN) {
      throw new ArrpcProtocolError(
        ArrpcProtocolErrorCode.Unencodable,
        `integer ${value} does not fit in 64 bits`,
      );
    }
    this.ensure(9);
    if (value > 0n) {
      this.buffer[this.pos] = 0xcf; // uint 64
      this.buffer.writeBigUInt64BE(value, this.pos + 1);
    } else {
      this.buffer[this.pos] = 0xd3; // int 64
      this.buffer.writeBigInt64BE(value, this.pos + 1);
    }
    this.pos += 9;
  }

  private writeString(value: string): void {
    if (value.length <= SHORT_STRING) {
      const byteLength = utf8Length(value);
      this.writeLengthHeader(byteLength, STR_HEADS);
      this.ensure(byteLength);
      this.pos += utf8Write(value, this.buffer, this.pos);
      return;
    }
    const byteLength = Buffer.byteLength(value);
    this.writeLengthHeader(byteLength, STR_HEADS);
    this.ensure(byteLength);
    this.pos += this.buffer.write(value, this.pos, byteLength, 'utf8');
  }

  private writeBin(value: Uint8Array): void {
    this.writeLengthHeader(value.length, BIN_HEADS);
    this.ensure(value.length);
    this.buffer.set(value, this.pos);
    this.pos += value.length;
  }

  private writeArray(value: readonly unknown[], depth: number): void {
    const inner = this.enter(depth);
    this.writeLengthHeader(value.length, ARRAY_HEADS);
    for (let i = 0; i < value.length; i++) this.write(value[i], inner);
  }

  private writeRecord(value: Record<string, unknown>, depth: number): void {
    const inner = this.enter(depth);
    const keys = Object.keys(value);
    this.writeLengthHeader(keys.length, MAP_HEADS);
    for (const key of keys) {
      this.writeString(key);
      this.write(value[key], inner);
    }
  }

  private writeMapEntries(value: Map<unknown, unknown>, depth: number): void {
    const inner = this.enter(depth);
    this.writeLengthHeader(value.size, MAP_HEADS);
    for (const [key, item] of value) {
      this.write(key, inner);
      this.write(item, inner);
    }
  }

  private writeExt(type: number, data: Uint8Array): void {
    const size = data.length;
    this.ensure(6 + size);
    const b = this.buffer;
    const fixext = FIXEXT_HEADS[size];
    if (fixext !== undefined) {
      b[this.pos++] = fixext; // fixext 1/2/4/8/16
    } else if (size < 0x100) {
      b[this.pos++] = 0xc7; // ext 8
      b[this.pos++] = size;
    } else if (size < 0x10000) {
      b[this.pos++] = 0xc8; // ext 16
      b.writeUInt16BE(size, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xc9; // ext 32
      b.writeUInt32BE(size, this.pos);
      this.pos += 4;
    }
    b.writeInt8(type, this.pos++);
    b.set(data, this.pos);
    this.pos += size;
  }

  /** Writes the header of a str, bin, array or map of `length` bytes or items. */
  private writeLengthHeader(length: number, heads: LengthHeads): void {
    this.ensure(5);
    const b = this.buffer;
    if (length < heads.fixLimit) {
      b[this.pos++] = heads.fix + length; // fixstr 101xxxxx, fixarray 1001xxxx, fixmap 1000xxxx
    } else if (length < 0x100 && heads.head8 !== 0) {
      b[this.pos++] = heads.head8; // str 8 / bin 8
      b[this.pos++] = length;
    } else if (length < 0x10000) {
      b[this.pos++] = heads.head16;
      b.writeUInt16BE(length, this.pos);
      this.pos += 2;
    } else if (length < UINT32_LIMIT) {
      b[this.pos++] = heads.head32;
      b.writeUInt32BE(length, this.pos);
      this.pos += 4;
    } else {
      throw new ArrpcProtocolError(
        ArrpcProtocolErrorCode.Unencodable,
        `a length of ${length} does not fit in 32 bits`,
      );
    }
  }

  private writeByte(byte: number): void {
    this.ensure(1);
    this.buffer[this.pos++] = byte;
  }

  private ensure(bytes: number): void {
    const needed = this.pos + bytes;
    if (needed <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(needed, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.pos);
    this.buffer = grown;
  }
}

/** The header bytes of one length-prefixed family; 0 where a form does not exist. */
interface LengthHeads {
  fix: number;
  fixLimit: number;
  head8: number;
  head16: number;
  head32: number;
}

const STR_HEADS: LengthHeads = { fix: 0xa0, fixLimit: 32, head8: 0xd9, head16: 0xda, head32: 0xdb };
const BIN_HEADS: LengthHeads = { fix: 0, fixLimit: 0, head8: 0xc4, head16: 0xc5, head32: 0xc6 };
const ARRAY_HEADS: LengthHeads = { fix: 0x90, fixLimit: 16, head8: 0, head16: 0xdc, head32: 0xdd };
const MAP_HEADS: LengthHeads = { fix: 0x80, fixLimit: 16, head8: 0, head16: 0xde, head32: 0xdf };

const FIXEXT_HEADS: Record<number, number> = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 };

/**
 * Decodes bytes that must hold exactly one value (a signed envelope's `data`,
 * a test vector). Throws {@link ArrpcProtocolError} when they hold less, more,
 * or a value the protocol refuses.
 */
export function decodeMessage(bytes: Uint8Array, limits?: DecoderLimits): unknown {
  return new MessageDecoder(limits).decodeWhole(bytes);
}

/** The first `length` bytes of `source`, in a new buffer, copied byte by byte. */
function copyShort(source: Buffer, length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = source[i]!;
  return bytes;
}
