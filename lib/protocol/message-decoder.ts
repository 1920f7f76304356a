import { ExtData } from '@msgpack/msgpack';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_BYTES } from '../constants.js';
import { ArrpcProtocolError, ArrpcProtocolErrorCode, limitError } from './protocol-error.js';
import { ArrpcTimestamp, TIMESTAMP_EXT_TYPE } from './timestamp.js';
import { SHORT_READ_BYTES, asciiRead } from './utf8.js';

/** Limits a decoder enforces while bytes arrive; every field is optional. */
export interface DecoderLimits {
  /** Largest message in bytes, envelope included. Defaults to {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number | undefined;
  /** Deepest nesting of arrays and maps. Defaults to {@link DEFAULT_MAX_DEPTH}. */
  maxDepth?: number | undefined;
}

/**
 * Receives each whole message: its value, its size on the wire, and, when the
 * value is well-formed MessagePack that the protocol refuses (a map key that
 * is not str or bin), the reason. A refused value is still framed, so the
 * stream stays usable.
 */
export type MessageHandler = (
  value: unknown,
  byteLength: number,
  refusal: ArrpcProtocolError | undefined,
) => void;

const ARRAY = 0;
const MAP_KEY = 1;
const MAP_VALUE = 2;

interface Frame {
  state: typeof ARRAY | typeof MAP_KEY | typeof MAP_VALUE;
  remaining: number;
  array: unknown[];
  map: Record<string, unknown>;
  key: string;
}

const EMPTY = Buffer.alloc(0);

/**
 * Turns a byte stream into whole MessagePack values, one token at a time, so
 * a value may be split at any byte and several may share a chunk. A token
 * whose bytes have not all arrived is not looked at again until they have:
 * chunks wait in a list and are joined once, so a large value costs one copy.
 *
 * Every claimed length is checked against the message budget before anything
 * is allocated or awaited for it, and nesting against the depth limit. A
 * breach throws {@link ArrpcProtocolError} and resets the decoder; the stream
 * is then out of step and should be closed.
 */
export class MessageDecoder {
  private readonly maxMessageBytes: number;
  private readonly maxDepth: number;
  private buffer: Buffer = EMPTY;
  private pos = 0;
  /** Chunks held back while the next token is incomplete, and their size. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private needed = 0;
  private readonly stack: Frame[] = [];
  private messageBytes = 0;
  private refusal: ArrpcProtocolError | undefined;

  constructor(limits?: DecoderLimits) {
    this.maxMessageBytes = limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxDepth = limits?.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** True when part of a message has arrived and the rest has not. */
  get hasPartialMessage(): boolean {
    return this.messageBytes > 0 || this.waitingBytes > 0 || this.pos < this.buffer.length;
  }

  /** Feeds one chunk; calls `onMessage` for every message it completes, in order. */
  write(chunk: Uint8Array, onMessage: MessageHandler): void {
    const bytes = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.waitingBytes > 0) {
      this.waiting.push(bytes);
      this.waitingBytes += bytes.length;
      if (this.waitingBytes < this.needed) return;
      this.buffer = Buffer.concat(this.waiting, this.waitingBytes);
      this.waiting = [];
      this.waitingBytes = 0;
    } else {
      this.buffer = bytes;
    }
    this.pos = 0;
    try {
      this.run(onMessage);
    } catch (error) {
      this.reset();
      throw error;
    }
  }

  /**
   * Decodes `bytes` that must hold exactly one value, reusing this decoder,
   * which must hold no partial message. Throws {@link ArrpcProtocolError}
   * when they hold less, more, or a value the protocol refuses; the decoder
   * is then reset, ready for the next call.
   */
  decodeWhole(bytes: Uint8Array): unknown {
    let result: unknown;
    let count = 0;
    this.write(bytes, (value, byteLength, refusal) => {
      if (refusal) throw refusal;
      if (++count > 1 || byteLength !== bytes.length) {
        throw new ArrpcProtocolError(ArrpcProtocolErrorCode.ExtraBytes, `${bytes.length - byteLength} bytes follow the value`);
      }
      result = value;
    });
    if (count === 0) {
      this.reset();
      throw new ArrpcProtocolError(ArrpcProtocolErrorCode.Incomplete, 'the bytes end inside a value');
    }
    return result;
  }

  /** Drops everything buffered, as after a breach. */
  reset(): void {
    this.buffer = EMPTY;
    this.pos = 0;
    this.waiting = [];
    this.waitingBytes = 0;
    this.needed = 0;
    this.stack.length = 0;
    this.messageBytes = 0;
    this.refusal = undefined;
  }

  private run(onMessage: MessageHandler): void {
    while (this.pos < this.buffer.length) {
      const value = this.readToken();
      if (value === INCOMPLETE) return;
      if (value === OPENED) continue;
      const message = this.attach(value);
      if (message !== UNFINISHED) {
        const byteLength = this.messageBytes;
        const refusal = this.refusal;
        this.messageBytes = 0;
        this.refusal = undefined;
        onMessage(message, byteLength, refusal);
      }
    }
    this.buffer = EMPTY;
    this.pos = 0;
  }

  /**
   * Places a finished value in its container, closing every container it
   * completes. Returns the whole message once the value closes it, else
   * {@link UNFINISHED}.
   */
  private attach(value: unknown): unknown {
    const stack = this.stack;
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) return value;
      if (top.state === ARRAY) {
        top.array.push(value);
        if (--top.remaining > 0) return UNFINISHED;
        value = top.array;
      } else if (top.state === MAP_KEY) {
        top.key = this.mapKey(value);
        top.state = MAP_VALUE;
        return UNFINISHED;
      } else {
        setOwn(top.map, top.key, value);
        if (--top.remaining > 0) {
          top.state = MAP_KEY;
          return UNFINISHED;
        }
        value = top.map;
      }
      stack.pop();
    }
  }

  private mapKey(key: unknown): string {
    if (typeof key === 'string') return key;
    if (key instanceof Uint8Array) return Buffer.from(key).toString('utf8');
    this.refusal ??= new ArrpcProtocolError(
      ArrpcProtocolErrorCode.InvalidMapKey,
      `map keys must be str or bin, not ${describeKey(key)}`,
    );
    return '';
  }

  /**
   * Reads the token at `pos`: a scalar's value, {@link OPENED} after a
   * non-empty container's header, or {@link INCOMPLETE} when its bytes have
   * not all arrived.
   */
  private readToken(): unknown {
    const b = this.buffer;
    const p = this.pos;
    const head = b[p]!;
    if (head <= 0x7f) return this.took(1, head); // positive fixint 0xxxxxxx
    if (head >= 0xe0) return this.took(1, head - 0x100); // negative fixint 111xxxxx
    if (head <= 0x8f) return this.openMap(1, head & 0x0f); // fixmap 1000xxxx
    if (head <= 0x9f) return this.openArray(1, head & 0x0f); // fixarray 1001xxxx
    if (head <= 0xbf) return this.readStr(1, head & 0x1f); // fixstr 101xxxxx
    const avail = b.length - p;
    const size = HEADER_BYTES[head - 0xc0]!;
    if (avail < size) return this.stall(size);
    switch (head) {
      case 0xc0: return this.took(1, null); // nil
      case 0xc1: throw new ArrpcProtocolError(ArrpcProtocolErrorCode.InvalidByte, 'byte 0xc1 is reserved and starts no value');
      case 0xc2: return this.took(1, false); // false
      case 0xc3: return this.took(1, true); // true
      case 0xc4: return this.readBin(2, b[p + 1]!); // bin 8
      case 0xc5: return this.readBin(3, b.readUInt16BE(p + 1)); // bin 16
      case 0xc6: return this.readBin(5, b.readUInt32BE(p + 1)); // bin 32
      case 0xc7: return this.readExt(3, b[p + 1]!); // ext 8
      case 0xc8: return this.readExt(4, b.readUInt16BE(p + 1)); // ext 16
      case 0xc9: return this.readExt(6, b.readUInt32BE(p + 1)); // ext 32
      case 0xca: return this.took(5, b.readFloatBE(p + 1)); // float 32
      case 0xcb: return this.took(9, b.readDoubleBE(p + 1)); // float 64
      case 0xcc: return this.took(2, b[p + 1]); // uint 8
      case 0xcd: return this.took(3, b.readUInt16BE(p + 1)); // uint 16
      case 0xce: return this.took(5, b.readUInt32BE(p + 1)); // uint 32
      case 0xcf: return this.took(9, readUint64(b, p + 1)); // uint 64
      case 0xd0: return this.took(2, b.readInt8(p + 1)); // int 8
      case 0xd1: return this.took(3, b.readInt16BE(p + 1)); // int 16
      case 0xd2: return this.took(5, b.readInt32BE(p + 1)); // int 32
      case 0xd3: return this.took(9, readInt64(b, p + 1)); // int 64
      case 0xd4: return this.readExt(2, 1); // fixext 1
      case 0xd5: return this.readExt(2, 2); // fixext 2
      case 0xd6: return this.readExt(2, 4); // fixext 4
      case 0xd7: return this.readExt(2, 8); // fixext 8
      case 0xd8: return this.readExt(2, 16); // fixext 16
      case 0xd9: return this.readStr(2, b[p + 1]!); // str 8
      case 0xda: return this.readStr(3, b.readUInt16BE(p + 1)); // str 16
      case 0xdb: return this.readStr(5, b.readUInt32BE(p + 1)); // str 32
      case 0xdc: return this.openArray(3, b.readUInt16BE(p + 1)); // array 16
      case 0xdd: return this.openArray(5, b.readUInt32BE(p + 1)); // array 32
      case 0xde: return this.openMap(3, b.readUInt16BE(p + 1)); // map 16
      default: return this.openMap(5, b.readUInt32BE(p + 1)); // map 32 (0xdf)
    }
  }

  /** Consumes a token of `size` bytes and yields `value`. */
  private took(size: number, value: unknown): unknown {
    this.claim(size);
    this.pos += size;
    return value;
  }

  private readStr(header: number, length: number): unknown {
    const start = this.pos + header;
    if (!this.has(header + length)) return INCOMPLETE;
    const text =
      (length <= SHORT_READ_BYTES ? asciiRead(this.buffer, start, length) : undefined) ??
      this.buffer.toString('utf8', start, start + length);
    return this.took(header + length, text);
  }

  private readBin(header: number, length: number): unknown {
    const start = this.pos + header;
    if (!this.has(header + length)) return INCOMPLETE;
    return this.took(header + length, new Uint8Array(this.buffer.subarray(start, start + length)));
  }

  /** `header` counts the type byte; `length` is the payload after it. */
  private readExt(header: number, length: number): unknown {
    const start = this.pos + header;
    if (!this.has(header + length)) return INCOMPLETE;
    const type = this.buffer.readInt8(start - 1);
    const data = new Uint8Array(this.buffer.subarray(start, start + length));
    const value =
      (type === TIMESTAMP_EXT_TYPE ? ArrpcTimestamp.fromExtData(data) : undefined) ??
      new ExtData(type, data);
    return this.took(header + length, value);
  }

  private openArray(header: number, count: number): unknown {
    if (count === 0) return this.took(header, []);
    // Each item needs at least one byte: a count the budget cannot hold fails now.
    this.open(header, count);
    this.stack.push({ state: ARRAY, remaining: count, array: [], map: NO_MAP, key: '' });
    return OPENED;
  }

  private openMap(header: number, count: number): unknown {
    if (count === 0) return this.took(header, {});
    this.open(header, count * 2);
    this.stack.push({ state: MAP_KEY, remaining: count, array: NO_ARRAY, map: {}, key: '' });
    return OPENED;
  }

  private open(header: number, reserve: number): void {
    if (this.stack.length >= this.maxDepth) {
      throw limitError(ArrpcProtocolErrorCode.MaxDepth, 'nesting depth', this.stack.length + 1, this.maxDepth);
    }
    this.claim(header, reserve);
    this.pos += header;
  }

  /**
   * Counts `size` more bytes of the message, failing when they, plus
   * `reserve` bytes the message is known to still need, break the budget.
   */
  private claim(size: number, reserve = 0): void {
    this.checkBudget(size + reserve);
    this.messageBytes += size;
  }

  private checkBudget(more: number): void {
    const total = this.messageBytes + more;
    if (total > this.maxMessageBytes) {
      throw limitError(ArrpcProtocolErrorCode.MaxMessageBytes, 'message size', total, this.maxMessageBytes);
    }
  }

  /** True when `size` bytes from `pos` are here; otherwise checks the budget and waits. */
  private has(size: number): boolean {
    if (this.buffer.length - this.pos >= size) return true;
    this.checkBudget(size);
    this.stall(size);
    return false;
  }

  private stall(size: number): typeof INCOMPLETE {
    const rest = this.buffer.subarray(this.pos);
    this.waiting = [rest];
    this.waitingBytes = rest.length;
    this.needed = size;
    this.buffer = EMPTY;
    this.pos = 0;
    return INCOMPLETE;
  }
}

const INCOMPLETE = Symbol('incomplete');
const OPENED = Symbol('opened');
const UNFINISHED = Symbol('unfinished');
const NO_ARRAY: unknown[] = [];
const NO_MAP: Record<string, unknown> = {};

/** Bytes each head byte from 0xc0 needs before its length can be read. */
const HEADER_BYTES = [
  1, 1, 1, 1, 2, 3, 5, 3, 4, 6, 5, 9, 2, 3, 5, 9, // c0-cf
  2, 3, 5, 9, 2, 2, 2, 2, 2, 2, 3, 5, 3, 5, 3, 5, // d0-df
];

/** A uint 64 as a number while it is safe, as a bigint beyond 2^53 - 1. */
function readUint64(b: Buffer, p: number): number | bigint {
  const hi = b.readUInt32BE(p);
  return hi < 0x20_0000 ? hi * 0x1_0000_0000 + b.readUInt32BE(p + 4) : b.readBigUInt64BE(p);
}

/** An int 64 as a number while it is safe, as a bigint beyond ±(2^53 - 1). */
function readInt64(b: Buffer, p: number): number | bigint {
  const hi = b.readInt32BE(p);
  if (hi >= -0x20_0000 && hi < 0x20_0000) {
    const value = hi * 0x1_0000_0000 + b.readUInt32BE(p + 4);
    if (Number.isSafeInteger(value)) return value;
  }
  return b.readBigInt64BE(p);
}

/**
 * Sets a key as an own data property. Plain assignment would send
 * `__proto__` to the prototype setter; `defineProperty` never does.
 */
function setOwn(map: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    map[key] = value;
  }
}

function describeKey(key: unknown): string {
  if (key === null) return 'nil';
  if (Array.isArray(key)) return 'an array';
  if (key instanceof ExtData || key instanceof ArrpcTimestamp) return 'an ext value';
  if (typeof key === 'object') return 'a map';
  if (typeof key === 'number' || typeof key === 'bigint') return Number.isInteger(key) || typeof key === 'bigint' ? 'an int' : 'a float';
  return `a ${typeof key}`;
}
