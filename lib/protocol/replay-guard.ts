// The replay guard between this project's peers (PROTOCOL.md part 2): a signed message carries
// the time it was written and a random nonce inside its signed bytes, so neither can be changed
// without the secret, and a server that remembers the nonces of the last window refuses a copy.
import { randomFillSync } from 'node:crypto';

/** Key of the writer's clock, whole milliseconds since the epoch, in a guarded message. */
export const GUARD_TIME_KEY = 'arrpc.ts';
/** Key of the random nonce (bin of {@link GUARD_NONCE_BYTES}) in a guarded message. */
export const GUARD_NONCE_KEY = 'arrpc.nonce';
/** Key of the message itself, as it would be signed without the guard. */
export const GUARD_DATA_KEY = 'data';
/** Bytes of a nonce: 128 random bits, which never repeat by chance. */
export const GUARD_NONCE_BYTES = 16;

/** A guarded message, as read from the signed bytes. */
export interface GuardedMessage {
  /** The writer's clock when it wrote the message, in ms since the epoch. */
  readonly time: number;
  readonly nonce: Uint8Array;
  /** The message inside, what the server routes. */
  readonly data: unknown;
}

/**
 * The value a guarded client signs in place of `data`:
 * `{"arrpc.ts": int, "arrpc.nonce": bin 16, "data": data}`, keys in that order.
 */
export function guardMessage(data: unknown, time: number, nonce: Uint8Array): Record<string, unknown> {
  return { [GUARD_TIME_KEY]: time, [GUARD_NONCE_KEY]: nonce, [GUARD_DATA_KEY]: data };
}

/**
 * Reads a signed value: `undefined` when it carries no guard (what Python peers sign), the
 * guarded message when it does, and a string saying what is wrong when it holds
 * {@link GUARD_NONCE_KEY} but is not exactly the three keys with the right types.
 */
export function readGuard(value: unknown): GuardedMessage | string | undefined {
  if (value === null || typeof value !== 'object' || !Object.hasOwn(value, GUARD_NONCE_KEY)) return undefined;
  const map = value as Record<string, unknown>;
  const time = map[GUARD_TIME_KEY];
  const nonce = map[GUARD_NONCE_KEY];
  if (Object.keys(map).length !== 3 || !Object.hasOwn(map, GUARD_DATA_KEY)) {
    return `a guarded message holds exactly "${GUARD_TIME_KEY}", "${GUARD_NONCE_KEY}" and "${GUARD_DATA_KEY}"`;
  }
  if (typeof time !== 'number' || !Number.isSafeInteger(time) || time < 0) return `"${GUARD_TIME_KEY}" must be whole milliseconds`;
  if (!(nonce instanceof Uint8Array) || nonce.length !== GUARD_NONCE_BYTES) {
    return `"${GUARD_NONCE_KEY}" must be bin of ${GUARD_NONCE_BYTES} bytes`;
  }
  return { time, nonce, data: map[GUARD_DATA_KEY] };
}

/** Nonces drawn from one random fill at a time: a fill costs about what one nonce of its own would. */
export class NonceSource {
  private readonly pool = Buffer.alloc(GUARD_NONCE_BYTES * 256);
  private offset = this.pool.length;

  /** 16 fresh random bytes, a view valid until the next call (encode it at once). */
  next(): Uint8Array {
    if (this.offset === this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    this.offset += GUARD_NONCE_BYTES;
    return this.pool.subarray(this.offset - GUARD_NONCE_BYTES, this.offset);
  }
}

/** Why {@link NonceStore.admit} refused a message, or `undefined` when it was admitted. */
export type ReplayRefusal = 'outside the window' | 'nonce seen before' | 'nonce memory full';

/**
 * The nonces of the messages admitted in the last window, each kept until its message's time
 * leaves the window (so a copy is refused for as long as the original would be accepted), and
 * never more than `maxNonces` of them: when full, a new message is refused rather than an
 * unexpired nonce forgotten, which would let its copy through.
 */
export class NonceStore {
  /** Nonce (as a latin1 str) to the time, ms since the epoch, when it may be forgotten; in arrival order. */
  private readonly expiries = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxNonces: number,
  ) {}

  /** Nonces held now. */
  get size(): number {
    return this.expiries.size;
  }

  /** Admits a message written at `time` with `nonce` at `now`, remembering its nonce, or says why not. */
  admit(time: number, nonce: Uint8Array, now: number): ReplayRefusal | undefined {
    if (Math.abs(now - time) > this.windowMs) return 'outside the window';
    this.forgetExpired(now);
    const key = Buffer.from(nonce.buffer, nonce.byteOffset, nonce.byteLength).toString('latin1');
    if (this.expiries.has(key)) return 'nonce seen before';
    if (this.expiries.size >= this.maxNonces) return 'nonce memory full';
    this.expiries.set(key, time + this.windowMs);
    return undefined;
  }

  /**
   * Drops expired nonces from the oldest arrival on, up to the first one still needed. Arrival
   * order is expiry order give or take the writers' clock skew, so an expired nonce can wait
   * behind a younger one, at most until that one expires: at most two windows of arrivals.
   */
  private forgetExpired(now: number): void {
    for (const [key, expiry] of this.expiries) {
      if (expiry >= now) return;
      this.expiries.delete(key);
    }
  }
}
