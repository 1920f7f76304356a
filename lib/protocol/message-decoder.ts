import {
  BIN_COST,
  CONTAINER_COST,
  type DecoderLimits,
  EXT_COST,
  ITEM_COST,
  type MessageLimits,
  OPEN_COST,
  STRING_COST,
  VALUE_COST,
  checkDepth,
  checkMessageBudget,
  resolveMessageLimits,
} from './decode-budget.js';
import {
  HEADER_BYTES,
  SHORT_ARRAY_ITEMS,
  mapKeyRefusal,
  mapKeyText,
  readBinValue,
  readExtValue,
  readInt64,
  readUint64,
  reservedByteError,
  setOwn,
} from './decoded-values.js';
import { ArrpcProtocolError, ArrpcProtocolErrorCode, limitError } from './protocol-error.js';
import type { SharedBudget } from './shared-budget.js';
import { readString } from './string-cache.js';
import { NOT_WHOLE, WholeMessageReader } from './whole-message-reader.js';

export type { DecoderLimits } from './decode-budget.js';

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
 * A message that lies whole in its chunk is read in one descent instead
 * ({@link WholeMessageReader}), charged the same at the same tokens.
 *
 * Every claimed length is checked against the message budget before anything
 * is allocated or awaited for it, and nesting against the depth limit. Besides
 * its bytes, a message is charged what its values will hold in memory (a slot
 * per value, an object per array or map, more per str, bin and ext), and that
 * cost may not pass `DECODED_COST_PER_MESSAGE_BYTE` times the byte
 * budget, partial or whole. A breach throws {@link ArrpcProtocolError} and
 * resets the decoder; the stream is then out of step and should be closed.
 */
export class MessageDecoder {
  private readonly limits: MessageLimits;
  /** Reads each message that lies whole in the buffer; the token reader below takes the others. */
  private readonly whole: WholeMessageReader;
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
    this.limits = resolveMessageLimits(limits);
    this.whole = new WholeMessageReader(this.limits);
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
      if (this.messageBytes === 0 && this.stack.length === 0 && this.readWhole(onMessage)) continue;
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
   * Reads the message at `pos` when it lies whole in the buffer and passes it on; false when
   * it does not, with nothing consumed, for the token reader to read it from its start.
   */
  private readWhole(onMessage: MessageHandler): boolean {
    const start = this.pos;
    const message = this.whole.read(this.buffer, start);
    if (message === NOT_WHOLE) return false;
    this.pos = this.whole.end;
    onMessage(message, this.pos - start, this.whole.refusal);
    return true;
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
    const text = mapKeyText(key);
    if (text !== undefined) return text;
    this.refusal ??= mapKeyRefusal(key);
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
      case 0xc1: throw reservedByteError();
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
    return this.took(header + length, readString(this.buffer, start, length), STRING_COST);
  }

  private readBin(header: number, length: number): unknown {
    const start = this.pos + header;
    if (!this.has(header + length)) return INCOMPLETE;
    return this.took(header + length, readBinValue(this.buffer, start, length), BIN_COST);
  }

  /** `header` counts the type byte; `length` is the payload after it. */
  private readExt(header: number, length: number): unknown {
    const start = this.pos + header;
    if (!this.has(header + length)) return INCOMPLETE;
    return this.took(header + length, readExtValue(this.buffer, start, length), EXT_COST);
  }

  private openArray(header: number, count: number): unknown {
    if (count === 0) return this.took(header, [], CONTAINER_COST);
    // Each item needs at least one byte and a slot: a count the budgets cannot hold fails now.
    this.open(header, count);
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
    checkDepth(this.limits, this.stack.length);
    this.checkBudget(header + items, header + OPEN_COST + items * ITEM_COST);
    this.messageBytes += header;
    this.messageCost += header + OPEN_COST;
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
    checkMessageBudget(this.limits, this.messageBytes + bytes, this.messageCost + cost);
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
const NO_MAP: Record<string, unknown> = {};
