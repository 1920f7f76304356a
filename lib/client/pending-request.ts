import type { PacketMetadata } from '@nestjs/microservices';
import type { ClientEndpointMetrics } from '../metrics/index.js';
import type { EnvelopeKind } from '../protocol/index.js';
import type { ClientCallSpan } from '../tracing/client-span.js';
import type { LinkedQueue, QueueSlot } from './linked-queue.js';

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
 * Where a call waits or was written, as the call sees it: an endpoint. Only what the call
 * itself reads, so that the call knows nothing of connections and endpoints.
 */
export interface RequestSite {
  /** The server as `host:port`. */
  readonly address: string;
  /** Where calls sent there are recorded; `undefined` with metrics off. */
  readonly metrics: ClientEndpointMetrics | undefined;
  /** True while no connection is open there and one is being opened (retries included). */
  readonly connecting: boolean;
  /** Why the latest connection attempt there failed, until a connection opens. */
  readonly lastConnectError: Error | undefined;
}

/** The connection a call was written to. */
export interface RequestLine {
  /**
   * `request`, written here, settled without its answer (it timed out or was cancelled): the
   * answer may still come, and must reach nobody.
   */
  abandon(request: PendingRequest, reason: Error): void;
}

/** An endpoint a call left for another, and the connection attempts it waited through there. */
export interface EndpointVisit {
  readonly endpoint: RequestSite;
  readonly attempts: number;
  /** Why it left, when no attempt failed there (`'ejected'`, `'draining'`...). */
  readonly note?: string | undefined;
}

/**
 * `queued`: waiting for a connection with room (or for the first DNS answer); `written`: on a
 * connection, waiting for its answer; `settled`: the caller has its outcome. A call moves from
 * queued to written, and back to queued only to be sent elsewhere (it never ran, or it may run
 * twice); nothing leaves `settled`.
 */
export type RequestState = 'queued' | 'written' | 'settled';

/**
 * A call between submission and its outcome. It owns its lifecycle ({@link RequestState}):
 * the queue it waits in (it leaves it by itself when it settles there), the connection it was
 * written to (told when it settles without its answer), its deadline and the timer and abort
 * listener that enforce it (dropped once settled). With metrics on, it also records its
 * outcome, once, as it settles.
 */
export class PendingRequest {
  /** Endpoints it was on before {@link site}; `undefined` until it moves (most calls never do). */
  visits: EndpointVisit[] | undefined;
  /** Connection attempts that failed on {@link site} while it waited there. */
  attemptsHere = 0;
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
  /** Its OpenTelemetry span; `undefined` unless a tracer provider is registered. */
  span: ClientCallSpan | undefined;
  /**
   * `performance.now()` when it was written, set by a connection that bounds head-of-line
   * waits (`headOfLineMs`); 0 otherwise.
   */
  writtenAt = 0;
  /** `performance.now()` by which the answer must come; `undefined` without a timeout. */
  readonly deadline: number | undefined;
  /** `performance.now()` at the call when it is recorded; 0 otherwise (nothing is timed). */
  private readonly startedAt: number;
  private current: RequestState = 'queued';
  private where: RequestSite | undefined;
  /** Its place in the queue it waits in, while queued. */
  private slot: QueueSlot<PendingRequest> | undefined;
  private line: RequestLine | undefined;
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

  /** See {@link RequestState}. */
  get state(): RequestState {
    return this.current;
  }

  /** True once the outcome is in. */
  get settled(): boolean {
    return this.current === 'settled';
  }

  /** The endpoint it is queued on or was written to; `undefined` before it reaches one. */
  get site(): RequestSite | undefined {
    return this.where;
  }

  /** True when it has been on `site` (queued or written), now or before. */
  hasTried(site: RequestSite): boolean {
    return this.where === site || (this.visits?.some((visit) => visit.endpoint === site) ?? false);
  }

  /** Every endpoint it has been on, oldest first, with the attempts it waited through on each. */
  route(): EndpointVisit[] {
    const here = this.where === undefined ? [] : [{ endpoint: this.where, attempts: this.attemptsHere }];
    return [...(this.visits ?? []), ...here];
  }

  /** Waits in `queue` before any endpoint is known (for the first DNS answer). */
  wait(queue: LinkedQueue<PendingRequest>): void {
    if (this.current !== 'queued') return;
    this.leaveQueue();
    this.slot = queue.push(this);
  }

  /**
   * Queues it on `site`, in `queue`: first placement, or a move (what it did where it was, and
   * `leftBecause`, are kept for the `ConnectException` that may end it). A written call becomes
   * queued again; a settled one stays settled: false, nothing done.
   */
  placeOn(site: RequestSite, queue: LinkedQueue<PendingRequest>, leftBecause?: string): boolean {
    if (this.current === 'settled') return false;
    if (this.where !== undefined && this.where !== site) {
      (this.visits ??= []).push({ endpoint: this.where, attempts: this.attemptsHere, note: leftBecause });
      this.attemptsHere = 0;
    }
    this.leaveQueue();
    this.where = site;
    this.current = 'queued';
    this.line = undefined;
    if (site.metrics !== undefined) this.metrics = site.metrics;
    this.slot = queue.push(this);
    return true;
  }

  /** Written to `line` in `bytes` bytes; false, nothing done, unless it was queued. */
  markWritten(line: RequestLine, bytes: number): boolean {
    if (this.current !== 'queued') return false;
    this.leaveQueue();
    this.current = 'written';
    this.line = line;
    this.bytes = bytes;
    return true;
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

  /**
   * Ends it from the caller's side (its timeout, a cancellation) with `error`, unless settled
   * already. Queued, it just leaves its queue; written, its connection is told, since the
   * answer may still come.
   */
  withdraw(error: Error): void {
    const line = this.current === 'written' ? this.line : undefined;
    if (!this.finish(error, undefined)) return;
    line?.abandon(this, error);
  }

  /** Settles; false when it had settled already. */
  private finish(error: Error | undefined, value: unknown): boolean {
    if (this.current === 'settled') return false;
    this.current = 'settled';
    this.leaveQueue();
    this.line = undefined;
    clearTimeout(this.timer);
    if (this.abortListener) this.signal!.removeEventListener('abort', this.abortListener);
    // Before the caller hears of it: a scrape right after the answer already counts it.
    if (this.metrics !== undefined && this.metricsPattern !== undefined) this.record(this.metrics, error);
    this.span?.end(error);
    try {
      this.settle(error, value);
    } catch (callbackError) {
      // The caller's code must not unwind into the socket and decoder that
      // delivered the answer: report it as uncaught, on a later tick.
      queueMicrotask(() => {
        throw callbackError;
      });
    }
    return true;
  }

  private leaveQueue(): void {
    this.slot?.queue?.remove(this.slot);
    this.slot = undefined;
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
