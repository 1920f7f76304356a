import { ExtData } from '@msgpack/msgpack';
import { DECODED_COST_PER_MESSAGE_BYTE, DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_BYTES } from '../constants.js';
import { ArrpcProtocolError, ArrpcProtocolErrorCode, limitError } from './protocol-error.js';
import type { SharedBudget } from './shared-budget.js';
import { ArrpcTimestamp, TIMESTAMP_EXT_TYPE } from './timestamp.js';
import { SHORT_READ_BYTES, asciiRead } from './utf8.js';

/** Limits a decoder enforces while bytes arrive; every field is optional. */
export interface DecoderLimits {
  /** Largest message in bytes, envelope included. Defaults to {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number | undefined;
  /** Deepest nesting of arrays and maps. Defaults to {@link DEFAULT_MAX_DEPTH}. */
  maxDepth?: number | undefined;
  /**
   * A budget shared with other decoders, charged what a message holds while it is partial
   * (its cost so far, see {@link MessageDecoder}, and the bytes waiting for a token to end).
   * Defaults to none.
   */
  shared?: SharedBudget | undefined;
}

/** Cost any message may have beyond the multiple of its byte limit, so a small limit still bounds bytes first. */
const COST_ALLOWANCE = 64 * 1024;

// What a decoded message holds in memory beyond its bytes, as measured on 64-bit V8: the
// charges that keep a message of many tiny values (a 1-byte `{}` becomes a 56-byte object)
// within DECODED_COST_PER_MESSAGE_BYTE times its byte budget.
/** Every value and map key: its slot in the array or map holding it. */
const VALUE_COST = 8;
/** Every array or map, empty or not: the object itself. */
const CONTAINER_COST = 64;
/** Every str: the string's header (its bytes are counted as bytes). */
const STRING_COST = 16;
/** Every bin value: a typed array with its own buffer. */
const BIN_COST = 192;
/** Every ext value: an `ExtData` (or `ArrpcTimestamp`) around a typed array with its own buffer. */
const EXT_COST = 256;

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
  /** Items (arrays) or entries (maps) the container holds. */
  readonly count: number;
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
 * is allocated or awaited for it, and nesting against the depth limit. Besides
 * its bytes, a message is charged what its values will hold in memory (a slot
 * per value, an object per array or map, more per str, bin and ext), and that
 * cost may not pass {@link DECODED_COST_PER_MESSAGE_BYTE} times the byte
 * budget, partial or whole. A breach throws {@link ArrpcProtocolError} and
 * resets the decoder; the stream is then out of step and should be closed.
 */
export class MessageDecoder {
  private readonly maxMessageBytes: number;
  /** Largest cost of one message: bytes plus the per-value charges. */
  private readonly maxMessageCost: number;
  private readonly maxDepth: number;
  private readonly shared: SharedBudget | undefined;
  /** What this decoder has taken from {@link shared} for its partial message. */
  private held = 0;
  private buffer: Buffer = EMPTY;
  private pos = 0;
  /** Chunks held back while the next token is incomplete, and their size. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private needed = 0;
  private readonly stack: Frame[] = [];
  private messageBytes = 0;
  /** The message's bytes so far plus the charges of the values read so far. */
  private messageCost = 0;
  private refusal: ArrpcProtocolError | undefined;

  constructor(limits?: DecoderLimits) {
    this.maxMessageBytes = limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.maxMessageCost = this.maxMessageBytes * DECODED_COST_PER_MESSAGE_BYTE + COST_ALLOWANCE;
    this.maxDepth = limits?.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.shared = limits?.shared;
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
    try {
      if (this.waitingBytes > 0) {
        this.waiting.push(bytes);
        this.waitingBytes += bytes.length;
        if (this.waitingBytes < this.needed) return this.holdPartial();
        this.buffer = Buffer.concat(this.waiting, this.waitingBytes);
        this.waiting = [];
        this.waitingBytes = 0;
      } else {
        this.buffer = bytes;
      }
      this.pos = 0;
      this.run(onMessage);
      this.holdPartial();
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
    this.shared?.give(this.held);
    this.held = 0;
    this.buffer = EMPTY;
    this.pos = 0;
    this.waiting = [];
    this.waitingBytes = 0;
    this.needed = 0;
    this.stack.length = 0;
    this.messageBytes = 0;
    this.messageCost = 0;
    this.refusal = undefined;
  }

  /**
   * Brings what this decoder takes from the shared budget to what its partial message holds
   * now (nothing once it is done), after each chunk: a message that ends within its chunk never
   * touches the budget.
   */
  private holdPartial(): void {
    const shared = this.shared;
    if (shared === undefined) return;
    const holding = this.messageCost + this.waitingBytes;
    const more = holding - this.held;
    if (more > 0 && !shared.tryTake(more)) {
      throw limitError(ArrpcProtocolErrorCode.MaxBufferedBytes, 'bytes held by partial messages', shared.inUse + more, shared.limit);
    }
    if (more < 0) shared.give(-more);
    this.held = holding;
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
        this.messageCost = 0;
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
        top.array[top.count - top.remaining] = value;
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

  /** Consumes a token of `size` bytes and yields `value`, which holds `cost` more than its slot. */
  private took(size: number, value: unknown, cost = 0): unknown {
    this.claim(size, VALUE_COST + cost);
    this.pos += size;
    return value;
  }

  private readStr(header: number, length: number): unknown {
    const start = this.pos + header;
    if (!this.has(header + length)) return INCOMPLETE;
    const text =
      (length <= SHORT_READ_BYTES ? asciiRead(this.buffer, start, length) : undefined) ??
      this.buffer.toString('utf8', start, start + length);
    return this.took(header + length, text, STRING_COST);
  }

  private readBin(header: number, length: number): unknown {
    const start = this.pos + header;
    if (!this.has(header + length)) return INCOMPLETE;
    return this.took(header + length, new Uint8Array(this.buffer.subarray(start, start + length)), BIN_COST);
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
    return this.took(header + length, value, EXT_COST);
  }

  private openArray(header: number, count: number): unknown {
    if (count === 0) return this.took(header, [], CONTAINER_COST);
    // Each item needs at least one byte and a slot: a count the budgets cannot hold fails now.
    this.open(header, count);
    // A short array gets its exact size: growing by push gives even one item 17 slots.
    const array = count <= SHORT_ARRAY_ITEMS ? new Array<unknown>(count) : [];
    this.stack.push({ state: ARRAY, count, remaining: count, array, map: NO_MAP, key: '' });
    return OPENED;
  }

  private openMap(header: number, count: number): unknown {
    if (count === 0) return this.took(header, {}, CONTAINER_COST);
    this.open(header, count * 2);
    this.stack.push({ state: MAP_KEY, count, remaining: count, array: NO_ARRAY, map: {}, key: '' });
    return OPENED;
  }

  /** Opens a container of `items` values (keys included) still to come. */
  private open(header: number, items: number): void {
    if (this.stack.length >= this.maxDepth) {
      throw limitError(ArrpcProtocolErrorCode.MaxDepth, 'nesting depth', this.stack.length + 1, this.maxDepth);
    }
    this.checkBudget(header + items, header + VALUE_COST + CONTAINER_COST + items * (1 + VALUE_COST));
    this.messageBytes += header;
    this.messageCost += header + VALUE_COST + CONTAINER_COST;
    this.pos += header;
  }

  /** Counts a token of `size` bytes whose value holds `cost` beyond them, failing when either budget breaks. */
  private claim(size: number, cost: number): void {
    this.checkBudget(size, size + cost);
    this.messageBytes += size;
    this.messageCost += size + cost;
  }

  /** Fails when `bytes` more bytes, costing `cost` in all, break the byte or the cost budget. */
  private checkBudget(bytes: number, cost: number): void {
    const total = this.messageBytes + bytes;
    if (total > this.maxMessageBytes) {
      throw limitError(ArrpcProtocolErrorCode.MaxMessageBytes, 'message size', total, this.maxMessageBytes);
    }
    const totalCost = this.messageCost + cost;
    if (totalCost > this.maxMessageCost) {
      throw limitError(ArrpcProtocolErrorCode.MaxMessageBytes, 'decoded message cost', totalCost, this.maxMessageCost);
    }
  }

  /** True when `size` bytes from `pos` are here; otherwise checks the budgets and waits. */
  private has(size: number): boolean {
    if (this.buffer.length - this.pos >= size) return true;
    this.checkBudget(size, size);
    this.stall(size);
    return false;
  }

  private stall(size: number): typeof INCOMPLETE {
    // A short rest is copied, so it does not keep the whole chunk it came in alive.
    const tail = this.buffer.subarray(this.pos);
    const rest = tail.length * 2 < this.buffer.length ? Buffer.from(tail) : tail;
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
/** Arrays of up to this many items are allocated at their size. */
const SHORT_ARRAY_ITEMS = 16;
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
