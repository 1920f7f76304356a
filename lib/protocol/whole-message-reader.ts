import {
  CONTAINER_COST,
  EXT_COST,
  BIN_COST,
  ITEM_COST,
  type MessageLimits,
  OPEN_COST,
  STRING_COST,
  VALUE_COST,
  checkDepth,
  checkMessageBudget,
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
import type { ArrpcProtocolError } from './protocol-error.js';
import { readString } from './string-cache.js';

/** What {@link WholeMessageReader.read} returns when the message is not whole in the bytes it was given. */
export const NOT_WHOLE = Symbol('not whole');

/** Thrown from any depth of a reading that cannot finish here; caught by `read` alone. */
const GIVE_UP = Symbol('give up');
/** Nesting this reader takes on the JS stack; a deeper message (allowed only by a raised `maxDepth`) goes to the token reader. */
const MAX_RECURSION = 512;
const EMPTY = Buffer.alloc(0);

/**
 * Reads one message that lies whole in a buffer by recursive descent: the fast path of
 * `MessageDecoder` for a message that starts at a chunk's boundary or after another.
 * It charges each token exactly what the token reader charges, in the same order, so a
 * limit breaks at the same token with the same error. When the bytes end inside the
 * message it gives up and the caller reads that message again token by token, so a
 * partial message is held exactly as before.
 */
export class WholeMessageReader {
  private bytes: Buffer = EMPTY;
  private pos = 0;
  private start = 0;
  /** The message's bytes so far plus the charges of the values read so far. */
  private cost = 0;
  /** Containers open around the current value. */
  private depth = 0;
  /** Why the message read last is refused (a map key neither str nor bin), if it is. */
  refusal: ArrpcProtocolError | undefined;
  /** Where the message read last ends. */
  end = 0;

  constructor(private readonly limits: MessageLimits) {}

  /** The message starting at `start`, or {@link NOT_WHOLE}; throws on a breach as the token reader would. */
  read(bytes: Buffer, start: number): unknown {
    this.bytes = bytes;
    this.pos = start;
    this.start = start;
    this.cost = 0;
    this.depth = 0;
    this.refusal = undefined;
    try {
      const value = this.value();
      this.end = this.pos;
      return value;
    } catch (error) {
      if (error === GIVE_UP) return NOT_WHOLE;
      throw error;
    } finally {
      this.bytes = EMPTY;
    }
  }

  private value(): unknown {
    const b = this.bytes;
    const p = this.pos;
    if (p >= b.length) throw GIVE_UP;
    const head = b[p]!;
    if (head <= 0x7f) return this.took(1, head); // positive fixint 0xxxxxxx
    if (head >= 0xe0) return this.took(1, head - 0x100); // negative fixint 111xxxxx
    if (head <= 0x8f) return this.map(1, head & 0x0f); // fixmap 1000xxxx
    if (head <= 0x9f) return this.array(1, head & 0x0f); // fixarray 1001xxxx
    if (head <= 0xbf) return this.str(1, head & 0x1f); // fixstr 101xxxxx
    if (p + HEADER_BYTES[head - 0xc0]! > b.length) throw GIVE_UP;
    switch (head) {
      case 0xc0: return this.took(1, null); // nil
      case 0xc1: throw reservedByteError();
      case 0xc2: return this.took(1, false); // false
      case 0xc3: return this.took(1, true); // true
      case 0xc4: return this.bin(2, b[p + 1]!); // bin 8
      case 0xc5: return this.bin(3, b.readUInt16BE(p + 1)); // bin 16
      case 0xc6: return this.bin(5, b.readUInt32BE(p + 1)); // bin 32
      case 0xc7: return this.ext(3, b[p + 1]!); // ext 8
      case 0xc8: return this.ext(4, b.readUInt16BE(p + 1)); // ext 16
      case 0xc9: return this.ext(6, b.readUInt32BE(p + 1)); // ext 32
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
      case 0xd4: return this.ext(2, 1); // fixext 1
      case 0xd5: return this.ext(2, 2); // fixext 2
      case 0xd6: return this.ext(2, 4); // fixext 4
      case 0xd7: return this.ext(2, 8); // fixext 8
      case 0xd8: return this.ext(2, 16); // fixext 16
      case 0xd9: return this.str(2, b[p + 1]!); // str 8
      case 0xda: return this.str(3, b.readUInt16BE(p + 1)); // str 16
      case 0xdb: return this.str(5, b.readUInt32BE(p + 1)); // str 32
      case 0xdc: return this.array(3, b.readUInt16BE(p + 1)); // array 16
      case 0xdd: return this.array(5, b.readUInt32BE(p + 1)); // array 32
      case 0xde: return this.map(3, b.readUInt16BE(p + 1)); // map 16
      default: return this.map(5, b.readUInt32BE(p + 1)); // map 32 (0xdf)
    }
  }

  /** Consumes a token of `size` bytes and yields `value`, which holds `cost` more than its slot. */
  private took<T>(size: number, value: T, cost = 0): T {
    const bytes = this.pos + size - this.start;
    const total = this.cost + size + VALUE_COST + cost;
    if (bytes > this.limits.maxMessageBytes || total > this.limits.maxMessageCost) {
      checkMessageBudget(this.limits, bytes, total);
    }
    this.cost = total;
    this.pos += size;
    return value;
  }

  private str(header: number, length: number): string {
    const start = this.pos + header;
    if (start + length > this.bytes.length) throw GIVE_UP;
    return this.took(header + length, readString(this.bytes, start, length), STRING_COST);
  }

  private bin(header: number, length: number): Uint8Array {
    const start = this.pos + header;
    if (start + length > this.bytes.length) throw GIVE_UP;
    return this.took(header + length, readBinValue(this.bytes, start, length), BIN_COST);
  }

  /** `header` counts the type byte; `length` is the payload after it. */
  private ext(header: number, length: number): unknown {
    const start = this.pos + header;
    if (start + length > this.bytes.length) throw GIVE_UP;
    return this.took(header + length, readExtValue(this.bytes, start, length), EXT_COST);
  }

  private array(header: number, count: number): unknown[] {
    if (count === 0) return this.took(header, [], CONTAINER_COST);
    this.open(header, count);
    const array = count <= SHORT_ARRAY_ITEMS ? new Array<unknown>(count) : [];
    for (let i = 0; i < count; i++) array[i] = this.value();
    this.depth--;
    return array;
  }

  private map(header: number, count: number): Record<string, unknown> {
    if (count === 0) return this.took(header, {}, CONTAINER_COST);
    this.open(header, count * 2);
    const map: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) {
      const key = this.key();
      setOwn(map, key, this.value());
    }
    this.depth--;
    return map;
  }

  private key(): string {
    const key = this.value();
    const text = mapKeyText(key);
    if (text !== undefined) return text;
    this.refusal ??= mapKeyRefusal(key);
    return '';
  }

  /** Opens a container of `items` values (keys included) still to come, as the token reader does. */
  private open(header: number, items: number): void {
    checkDepth(this.limits, this.depth);
    if (this.depth >= MAX_RECURSION) throw GIVE_UP;
    // Each item needs at least one byte and a slot: a count the budgets cannot hold fails now.
    checkMessageBudget(this.limits, this.pos + header + items - this.start, this.cost + header + OPEN_COST + items * ITEM_COST);
    this.cost += header + OPEN_COST;
    this.pos += header;
    this.depth++;
  }
}
