import { asciiRead } from './utf8.js';

/**
 * Short strings by their bytes. Map keys and short values (`id`, `name`, `new`) repeat
 * in every message; finding one here costs a hash and a compare of its bytes, well below
 * building it again. The table is fixed: a string whose slot another took is decoded again.
 * It is shared by every decoder of the process (JS runs one decode at a time), so one peer
 * can make the others miss, never make the table grow or a string read wrong.
 */

/** Strings of up to this many bytes are looked up; longer ones go to the native decoder. */
export const CACHED_STRING_BYTES = 16;
/** Slots in the table (a power of two): about 80 KiB held for good. */
const SLOTS = 4096;

const slotBytes = new Uint8Array(SLOTS * CACHED_STRING_BYTES);
/** The byte length of each slot's string; 0 marks an empty slot ('' is never looked up). */
const slotLengths = new Uint8Array(SLOTS);
const slotStrings = new Array<string>(SLOTS).fill('');

/** The UTF-8 text of `length` bytes at `start`, as `Buffer#toString('utf8')` reads it. */
export function readString(bytes: Buffer, start: number, length: number): string {
  if (length === 0) return '';
  if (length > CACHED_STRING_BYTES) return bytes.toString('utf8', start, start + length);
  // FNV-1a over the bytes, then the high bits folded into the slot index.
  let hash = 0x811c9dc5;
  for (let i = start; i < start + length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  const slot = (hash ^ (hash >>> 16)) & (SLOTS - 1);
  const base = slot * CACHED_STRING_BYTES;
  if (slotLengths[slot] === length) {
    let i = 0;
    while (i < length && slotBytes[base + i] === bytes[start + i]) i++;
    if (i === length) return slotStrings[slot]!;
  }
  const text = asciiRead(bytes, start, length) ?? bytes.toString('utf8', start, start + length);
  for (let i = 0; i < length; i++) slotBytes[base + i] = bytes[start + i]!;
  slotLengths[slot] = length;
  slotStrings[slot] = text;
  return text;
}
