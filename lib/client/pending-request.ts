import type { PacketMetadata } from '@nestjs/microservices';
import type { EnvelopeKind } from '../protocol/index.js';
import type { Connection } from './connection.js';

/** One call as the caller made it, before encoding. */
export interface OutgoingMessage {
  readonly kind: EnvelopeKind;
  readonly pattern: unknown;
  readonly data: unknown;
  /** What the dispatch hook set; written as `meta` in envelopes only. */
  readonly metadata: PacketMetadata | undefined;
}

/** Receives the outcome of a call, exactly once. */
export type Settle = (error: Error | undefined, value?: unknown) => void;

/**
 * A call between submission and its outcome: queued, then written to one
 * connection, then settled. Holds its deadline and the timer and abort
 * listener that enforce it, and drops both once settled.
 */
export class PendingRequest {
  /** Where the call is; a settled call ignores every later outcome. */
  state: 'queued' | 'written' | 'settled' = 'queued';
  /** The connection it was written to, once written. */
  connection: Connection | undefined;
  /** `performance.now()` by which the answer must come; `undefined` without a timeout. */
  readonly deadline: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private abortListener: (() => void) | undefined;

  constructor(
    readonly message: OutgoingMessage,
    /** The call's timeout in ms, when it has one. */
    readonly timeoutMs: number | undefined,
    private readonly settle: Settle,
  ) {
    this.deadline = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
  }

  /** True once the outcome is in. */
  get settled(): boolean {
    return this.state === 'settled';
  }

  /**
   * Whole milliseconds left before the deadline, `undefined` without one.
   * Rounded down: a server never gets more time than the caller still waits.
   */
  remainingMs(): number | undefined {
    return this.deadline === undefined ? undefined : Math.floor(this.deadline - performance.now());
  }

  /** Calls `onTimeout` when the deadline passes and `onAbort` when `signal` aborts, until settled. */
  watch(signal: AbortSignal | undefined, onTimeout: () => void, onAbort: () => void): void {
    const remaining = this.remainingMs();
    if (remaining !== undefined) this.timer = setTimeout(onTimeout, remaining);
    if (signal !== undefined) {
      this.signal = signal;
      this.abortListener = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /** Settles with the answer, unless settled already. */
  succeed(value: unknown): void {
    this.finish(undefined, value);
  }

  /** Settles with `error`, unless settled already. */
  fail(error: Error): void {
    this.finish(error, undefined);
  }

  private finish(error: Error | undefined, value: unknown): void {
    if (this.state === 'settled') return;
    this.state = 'settled';
    this.connection = undefined;
    clearTimeout(this.timer);
    if (this.abortListener) this.signal!.removeEventListener('abort', this.abortListener);
    try {
      this.settle(error, value);
    } catch (callbackError) {
      // The caller's code must not unwind into the socket and decoder that
      // delivered the answer: report it as uncaught, on a later tick.
      queueMicrotask(() => {
        throw callbackError;
      });
    }
  }
}
