import { DECODED_COST_PER_MESSAGE_BYTE, DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_BYTES } from '../constants.js';
import { ArrpcProtocolErrorCode, limitError } from './protocol-error.js';
import type { SharedBudget } from './shared-budget.js';

/** Limits a decoder enforces while bytes arrive; every field is optional. */
export interface DecoderLimits {
  /** Largest message in bytes, envelope included. Defaults to {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number | undefined;
  /** Deepest nesting of arrays and maps. Defaults to {@link DEFAULT_MAX_DEPTH}. */
  maxDepth?: number | undefined;
  /**
   * A budget shared with other decoders, charged what a message holds while it is partial
   * (its cost so far, see `MessageDecoder`, and the bytes waiting for a token to end).
   * Defaults to none.
   */
  shared?: SharedBudget | undefined;
}

/** The per-message limits both readers of a decoder enforce, resolved once. */
export interface MessageLimits {
  readonly maxMessageBytes: number;
  /** Largest cost of one message: bytes plus the per-value charges. */
  readonly maxMessageCost: number;
  readonly maxDepth: number;
}

/** Cost any message may have beyond the multiple of its byte limit, so a small limit still bounds bytes first. */
const COST_ALLOWANCE = 64 * 1024;

// What a decoded message holds in memory beyond its bytes, as measured on 64-bit V8: the
// charges that keep a message of many tiny values (a 1-byte `{}` becomes a 56-byte object)
// within DECODED_COST_PER_MESSAGE_BYTE times its byte budget.
/** Every value and map key: its slot in the array or map holding it. */
export const VALUE_COST = 8;
/** Every array or map, empty or not: the object itself. */
export const CONTAINER_COST = 64;
/** Every str: the string's header (its bytes are counted as bytes). */
export const STRING_COST = 16;
/** Every bin value: a typed array with its own buffer. */
export const BIN_COST = 192;
/** Every ext value: an `ExtData` (or `ArrpcTimestamp`) around a typed array with its own buffer. */
export const EXT_COST = 256;
/** What opening a non-empty array or map costs before its items: its header, slot and object. */
export const OPEN_COST = VALUE_COST + CONTAINER_COST;
/** What each announced item (key or value) must at least cost: a byte and a slot. */
export const ITEM_COST = 1 + VALUE_COST;

export function resolveMessageLimits(limits: DecoderLimits | undefined): MessageLimits {
  const maxMessageBytes = limits?.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  return Object.freeze({
    maxMessageBytes,
    maxMessageCost: maxMessageBytes * DECODED_COST_PER_MESSAGE_BYTE + COST_ALLOWANCE,
    maxDepth: limits?.maxDepth ?? DEFAULT_MAX_DEPTH,
  });
}

/**
 * Fails when a message would reach `bytes` bytes or `cost` in all: both readers call it at
 * the same points with the same totals, so a breach reads the same whichever path met it.
 */
export function checkMessageBudget(limits: MessageLimits, bytes: number, cost: number): void {
  if (bytes > limits.maxMessageBytes) {
    throw limitError(ArrpcProtocolErrorCode.MaxMessageBytes, 'message size', bytes, limits.maxMessageBytes);
  }
  if (cost > limits.maxMessageCost) {
    throw limitError(ArrpcProtocolErrorCode.MaxMessageBytes, 'decoded message cost', cost, limits.maxMessageCost);
  }
}

/** Fails when opening a container at `depth` (containers already open) passes the depth limit. */
export function checkDepth(limits: MessageLimits, depth: number): void {
  if (depth >= limits.maxDepth) {
    throw limitError(ArrpcProtocolErrorCode.MaxDepth, 'nesting depth', depth + 1, limits.maxDepth);
  }
}
