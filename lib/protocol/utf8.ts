/**
 * UTF-8 for short strings in plain JS. Crossing into C++ (`Buffer#write`,
 * `Buffer#toString`) costs more than the work for the keys and short values
 * that make up most messages; long strings still go to the native code.
 */

/** Strings up to this many UTF-16 units are written by the JS path. */
export const SHORT_STRING = 64;
/** Strings up to this many bytes are read by the JS path; past it `Buffer#toString` is faster. */
export const SHORT_READ_BYTES = 16;

/** UTF-8 byte length of `str`; a lone surrogate counts as U+FFFD (3 bytes), as Buffer writes it. */
export function utf8Length(str: string): number {
  let bytes = 0;
  for (let i = 0; i < str.length; i++) {
    const unit = str.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && isLowSurrogate(str.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Writes `str` at `pos` (room for it is the caller's); returns the bytes written. */
export function utf8Write(str: string, out: Uint8Array, pos: number): number {
  const start = pos;
  for (let i = 0; i < str.length; i++) {
    let code = str.charCodeAt(i);
    if (code < 0x80) {
      out[pos++] = code;
      continue;
    }
    if (code < 0x800) {
      out[pos++] = 0xc0 | (code >> 6);
    } else {
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = str.charCodeAt(i + 1);
        if (code <= 0xdbff && isLowSurrogate(next)) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
          out[pos++] = 0xf0 | (code >> 18);
          out[pos++] = 0x80 | ((code >> 12) & 0x3f);
        } else {
          code = 0xfffd; // a lone surrogate, as Buffer writes it
          out[pos++] = 0xe0 | (code >> 12);
        }
      } else {
        out[pos++] = 0xe0 | (code >> 12);
      }
      out[pos++] = 0x80 | ((code >> 6) & 0x3f);
    }
    out[pos++] = 0x80 | (code & 0x3f);
  }
  return pos - start;
}

/**
 * Reads `length` bytes at `start` as text when they are all ASCII, the
 * common case for keys; `undefined` otherwise, for the native decoder.
 */
export function asciiRead(bytes: Uint8Array, start: number, length: number): string | undefined {
  const units = new Array<number>(length);
  for (let i = 0; i < length; i++) {
    const byte = bytes[start + i]!;
    if (byte >= 0x80) return undefined;
    units[i] = byte;
  }
  return String.fromCharCode.apply(null, units);
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
