/**
 * The Python reference reads a message with `recv(4096)` until a read comes
 * back short, so it never sees whole a message whose length is a multiple of
 * 4096 bytes. What this project writes to a Python peer is kept off those
 * lengths by writing one header in its next-larger form, which decodes to
 * the same value.
 */
export const PYTHON_READ_BYTES = 4096;

/**
 * Returns `bytes` unchanged unless their length is a multiple of
 * {@link PYTHON_READ_BYTES}; then a copy with the first widenable header
 * widened by 1 to 4 bytes. A value made only of nil, booleans, float 64, ints
 * of 64 bits and 32-bit-length headers has none to widen and is returned as it
 * is: above all a bare str, bin or ext of 65,536 bytes or more (a 69,627-byte
 * str encodes to 17 x 4096 bytes), which a Python peer then never reads whole.
 * Check the length of what comes back ({@link isPythonReadable}).
 */
export function widenForPythonReader(bytes: Buffer): Buffer {
  if (bytes.length % PYTHON_READ_BYTES !== 0) return bytes;
  for (let pos = 0; pos < bytes.length; ) {
    const head = bytes[pos]!;
    const widened = widenHeader(bytes, pos, head);
    if (widened !== undefined) {
      const { header, replacement } = widened;
      return Buffer.concat([bytes.subarray(0, pos), replacement, bytes.subarray(pos + header)]);
    }
    pos += tokenBytes(bytes, pos, head);
  }
  return bytes;
}

/** True when a Python peer can read `bytes` whole: their length is not a multiple of {@link PYTHON_READ_BYTES}. */
export function isPythonReadable(bytes: Uint8Array): boolean {
  return bytes.length % PYTHON_READ_BYTES !== 0;
}

interface Widened {
  /** Bytes of the header being replaced. */
  header: number;
  replacement: Buffer;
}

/** The header at `pos` in its next-larger form, or `undefined` when it has none. */
function widenHeader(b: Buffer, pos: number, head: number): Widened | undefined {
  if (head <= 0x7f) return { header: 1, replacement: Buffer.from([0xcc, head]) }; // positive fixint -> uint 8
  if (head >= 0xe0) return { header: 1, replacement: Buffer.from([0xd0, head]) }; // negative fixint -> int 8
  if (head <= 0x8f) return { header: 1, replacement: sized(0xde, 2, head & 0x0f) }; // fixmap -> map 16
  if (head <= 0x9f) return { header: 1, replacement: sized(0xdc, 2, head & 0x0f) }; // fixarray -> array 16
  if (head <= 0xbf) return { header: 1, replacement: sized(0xd9, 1, head & 0x1f) }; // fixstr -> str 8
  switch (head) {
    case 0xc4: return { header: 2, replacement: sized(0xc5, 2, b[pos + 1]!) }; // bin 8 -> bin 16
    case 0xc5: return { header: 3, replacement: sized(0xc6, 4, b.readUInt16BE(pos + 1)) }; // bin 16 -> bin 32
    case 0xd9: return { header: 2, replacement: sized(0xda, 2, b[pos + 1]!) }; // str 8 -> str 16
    case 0xda: return { header: 3, replacement: sized(0xdb, 4, b.readUInt16BE(pos + 1)) }; // str 16 -> str 32
    case 0xdc: return { header: 3, replacement: sized(0xdd, 4, b.readUInt16BE(pos + 1)) }; // array 16 -> array 32
    case 0xde: return { header: 3, replacement: sized(0xdf, 4, b.readUInt16BE(pos + 1)) }; // map 16 -> map 32
    case 0xcc: return { header: 2, replacement: sized(0xcd, 2, b[pos + 1]!) }; // uint 8 -> uint 16
    case 0xcd: return { header: 3, replacement: sized(0xce, 4, b.readUInt16BE(pos + 1)) }; // uint 16 -> uint 32
    case 0xd0: return { header: 2, replacement: signed(0xd1, 2, b.readInt8(pos + 1)) }; // int 8 -> int 16
    case 0xd1: return { header: 3, replacement: signed(0xd2, 4, b.readInt16BE(pos + 1)) }; // int 16 -> int 32
    case 0xce: return { header: 5, replacement: int64(0xcf, b.readUInt32BE(pos + 1)) }; // uint 32 -> uint 64
    case 0xd2: return { header: 5, replacement: int64(0xd3, b.readInt32BE(pos + 1)) }; // int 32 -> int 64
    case 0xca: return { header: 5, replacement: float64(b.readFloatBE(pos + 1)) }; // float 32 -> float 64, exact
    case 0xc7: return { header: 3, replacement: extHeader(0xc8, 2, b[pos + 1]!, b[pos + 2]!) }; // ext 8 -> ext 16
    case 0xc8: return { header: 4, replacement: extHeader(0xc9, 4, b.readUInt16BE(pos + 1), b[pos + 3]!) }; // ext 16 -> ext 32
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: // fixext 1-16 -> ext 8
      return { header: 2, replacement: extHeader(0xc7, 1, FIXEXT_BYTES[head - 0xd4]!, b[pos + 1]!) };
    default: return undefined;
  }
}

/** Data bytes of fixext 1, 2, 4, 8 and 16 (0xd4-0xd8). */
const FIXEXT_BYTES = [1, 2, 4, 8, 16];

/** An ext header of the form `head`: its data length in `lengthBytes`, then its type byte. */
function extHeader(head: number, lengthBytes: number, length: number, type: number): Buffer {
  const out = Buffer.alloc(2 + lengthBytes);
  out[0] = head;
  out.writeUIntBE(length, 1, lengthBytes);
  out[1 + lengthBytes] = type;
  return out;
}

/** A uint 64 or int 64 token holding a 32-bit `value` (Buffer writes at most 6 bytes as a number). */
function int64(head: number, value: number): Buffer {
  const out = Buffer.alloc(9);
  out[0] = head;
  out.writeBigInt64BE(BigInt(value), 1);
  return out;
}

function float64(value: number): Buffer {
  const out = Buffer.alloc(9);
  out[0] = 0xcb;
  out.writeDoubleBE(value, 1);
  return out;
}

function sized(head: number, lengthBytes: number, value: number): Buffer {
  const out = Buffer.alloc(1 + lengthBytes);
  out[0] = head;
  out.writeUIntBE(value, 1, lengthBytes);
  return out;
}

function signed(head: number, lengthBytes: number, value: number): Buffer {
  const out = Buffer.alloc(1 + lengthBytes);
  out[0] = head;
  out.writeIntBE(value, 1, lengthBytes);
  return out;
}

/**
 * Bytes from `pos` to the next token: the header plus, for scalars, str, bin
 * and ext, the payload. A container's items follow its header, so walking
 * token by token visits every header in order.
 */
function tokenBytes(b: Buffer, pos: number, head: number): number {
  if (head <= 0x9f || head >= 0xe0) return 1; // fixint, fixmap, fixarray headers
  if (head <= 0xbf) return 1 + (head & 0x1f); // fixstr
  switch (head) {
    case 0xc4: case 0xd9: return 2 + b[pos + 1]!; // bin 8, str 8
    case 0xc5: case 0xda: return 3 + b.readUInt16BE(pos + 1); // bin 16, str 16
    case 0xc6: case 0xdb: return 5 + b.readUInt32BE(pos + 1); // bin 32, str 32
    case 0xc7: return 3 + b[pos + 1]!; // ext 8
    case 0xc8: return 4 + b.readUInt16BE(pos + 1); // ext 16
    case 0xc9: return 6 + b.readUInt32BE(pos + 1); // ext 32
    case 0xd4: return 3; // fixext 1
    case 0xd5: return 4; // fixext 2
    case 0xd6: return 6; // fixext 4
    case 0xd7: return 10; // fixext 8
    case 0xd8: return 18; // fixext 16
    default: return FIXED_BYTES[head - 0xc0] ?? 1;
  }
}

/** Whole sizes of the fixed-size tokens and container headers from 0xc0. */
const FIXED_BYTES: Record<number, number> = {
  0x00: 1, 0x02: 1, 0x03: 1, // nil, false, true
  0x0a: 5, 0x0b: 9, // float 32, float 64
  0x0c: 2, 0x0d: 3, 0x0e: 5, 0x0f: 9, // uint 8-64
  0x10: 2, 0x11: 3, 0x12: 5, 0x13: 9, // int 8-64
  0x1c: 3, 0x1d: 5, 0x1e: 3, 0x1f: 5, // array 16/32, map 16/32
};
