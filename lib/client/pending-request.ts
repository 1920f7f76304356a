import type { PacketMetadata } from '@nestjs/microservices';
import type { ClientEndpointMetrics } from '../metrics/index.js';
import type { EnvelopeKind } from '../protocol/index.js';
import type { Connection } from './connection.js';
import type { Endpoint } from './endpoint.js';

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

/** An endpoint a call left for another, and the connection attempts it waited through there. */
export interface EndpointVisit {
  readonly endpoint: Endpoint;
  readonly attempts: number;
  /** Why it left, when no attempt failed there (`'ejected'`, `'draining'`...). */
  readonly note?: string | undefined;
}

/**
 * A call between submission and its outcome: queued, then written to one
 * connection, then settled. Holds its deadline and the timer and abort
 * listener that enforce it, and drops both once settled. With metrics on, it
 * also records its outcome, once, as it settles.
 */
export class PendingRequest {
  /** Where the call is; a settled call ignores every later outcome. */
  state: 'queued' | 'written' | 'settled' = 'queued';
  /** The connection it was written to, once written. */
  connection: Connection | undefined;
  /** The endpoint it is queued on or was written to. */
  endpoint: Endpoint | undefined;
  /** Connection attempts that failed on {@link endpoint} while it waited there. */
  attemptsHere = 0;
  /** Endpoints it was on before {@link endpoint}; `undefined` until it moves (most calls never do). */
  visits: EndpointVisit[] | undefined;
  /** Its pattern is in `idempotentPatterns`: once written, it may still be sent once more. */
  idempotent = false;
  /** It was written, lost with its connection, and sent again (which happens once at most). */
  resent = false;
  /** Bytes written for it, envelope and signature included; 0 until written. */
  bytes = 0;
  /**
   * Where its outcome is recorded: the metrics of the endpoint it waits for, then of the one
   * it was written to. `undefined` with metrics off.
   */
  metrics: ClientEndpointMetrics | undefined;
  /** `performance.now()` by which the answer must come; `undefined` without a timeout. */
  readonly deadline: number | undefined;
  /** `performance.now()` at the call when it is recorded; 0 otherwise (nothing is timed). */
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private signal: AbortSignal | undefined;
  private abortListener: (() => void) | undefined;

  constructor(
    readonly message: OutgoingMessage,
    /** The call's timeout in ms, when it has one. */
    readonly timeoutMs: number | undefined,
    private readonly settle: Settle,
    /**
     * The pattern as the metrics label it (`''` when only the histogram would read it and it
     * is off); `undefined` when the call is not recorded (metrics off, or `arrpc.ping`).
     */
    private readonly metricsPattern?: string,
  ) {
    const now = timeoutMs === undefined && metricsPattern === undefined ? 0 : performance.now();
    this.deadline = timeoutMs === undefined ? undefined : now + timeoutMs;
    this.startedAt = metricsPattern === undefined ? 0 : now;
  }

  /** True once the outcome is in. */
  get settled(): boolean {
    return this.state === 'settled';
  }

  /** True when it has been on `endpoint` (queued or written), now or before. */
  hasTried(endpoint: Endpoint): boolean {
    return this.endpoint === endpoint || (this.visits?.some((visit) => visit.endpoint === endpoint) ?? false);
  }

  /** Every endpoint it has been on, oldest first, with the attempts it waited through on each. */
  route(): EndpointVisit[] {
    const here = this.endpoint === undefined ? [] : [{ endpoint: this.endpoint, attempts: this.attemptsHere }];
    return [...(this.visits ?? []), ...here];
  }

  /**
   * Puts it on `endpoint`'s queue: first placement, or a move (what it did where it was, and
   * `leftBecause`, are kept for the `ConnectException` that may end it). A written call becomes
   * queued again.
   */
  placeOn(endpoint: Endpoint, leftBecause?: string): void {
    if (this.endpoint !== undefined && this.endpoint !== endpoint) {
      (this.visits ??= []).push({ endpoint: this.endpoint, attempts: this.attemptsHere, note: leftBecause });
      this.attemptsHere = 0;
    }
    this.endpoint = endpoint;
    this.state = 'queued';
    this.connection = undefined;
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
    // Before the caller hears of it: a scrape right after the answer already counts it.
    if (this.metrics !== undefined && this.metricsPattern !== undefined) this.record(this.metrics, error);
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

  /**
   * A written call counts as a request (bytes written, seconds from the call to its outcome),
   * whatever the outcome; a failed one, written or not, counts as an error with its message
   * as the reason (the recorder bounds distinct reasons).
   */
  private record(metrics: ClientEndpointMetrics, error: Error | undefined): void {
    if (this.bytes > 0) metrics.request(this.metricsPattern!, (performance.now() - this.startedAt) / 1000, this.bytes);
    if (error !== undefined) metrics.error(error instanceof Error ? error.message : String(error));
  }
}
