import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ClientProxy, type MsPattern, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { connectable, defer, Observable, ReplaySubject, throwError } from 'rxjs';
import { ARRPC_DEFAULT_PATTERN, ARRPC_PING_PATTERN, ArrpcStatus } from '../constants.js';
import { resolveClientOptions, type ArrpcClientOptions, type ResolvedClientOptions } from '../options/index.js';
import { MAX_TIMEOUT_MS, optionChecks } from '../options/option-checks.js';
import type { EnvelopeKind } from '../protocol/index.js';
import { ClientCallSpan } from '../tracing/index.js';
import { ClientEventListeners, type ArrpcClientEvents } from './arrpc-client.events.js';
import { ClientMetrics } from './client-metrics.js';
import { ConnectionPool } from './connection-pool.js';
import { PendingRequest, type Settle } from './pending-request.js';

/** Options of {@link ArrpcClient.call}. */
export interface ArrpcCallOptions {
  /**
   * This call's timeout in milliseconds, instead of the client's `timeout`.
   * 0 or less fails at once with `RpcTimeoutException`, nothing written; at
   * most 2^31−1 (about 24.8 days).
   */
  timeoutMs?: number | undefined;
  /**
   * Aborting it ends the call with `CancelledException`. A written request's answer is dropped
   * when it comes; its connection is closed only when no other request waits on it.
   */
  signal?: AbortSignal | undefined;
}

/** The checks of `call()`'s options. */
const callCheck = optionChecks('ArrpcClient.call');

/**
 * A Nest `ClientProxy` that speaks arrpc: to a Python `arrpc.Server` exactly
 * as a Python `arrpc.Client` does, and to this project's `ArrpcServer`.
 *
 * Sending to `ARRPC_DEFAULT_PATTERN` writes the data raw (a Python server's
 * handler receives it as is); any other pattern is wrapped in an envelope.
 * Connections open lazily, on the first call; see docs/client.md.
 */
export class ArrpcClient extends ClientProxy<ArrpcClientEvents, ArrpcStatus> implements OnApplicationShutdown {
  /**
   * `ReplaySubject` is invariant in its value type, so a subject of
   * `ArrpcStatus` alone would make `customClass: ArrpcClient` fail to
   * type-check where Nest expects a `ClientProxy` of `string` statuses (as
   * `ClientTCP` itself does in Nest 12.1). Only `ArrpcStatus` values are pushed.
   */
  protected declare _status$: ReplaySubject<ArrpcStatus> & ReplaySubject<string>;
  private readonly options: ResolvedClientOptions;
  private readonly listeners = new ClientEventListeners();
  private readonly pool: ConnectionPool;
  private readonly clientMetrics: ClientMetrics;
  /** `idempotentPatterns`: `true`, or the patterns as a set. */
  private readonly idempotent: true | ReadonlySet<string>;
  /** A str pattern as it is; an object pattern as Nest's normalised text. Bound: tracing takes it as is. */
  private readonly patternText = (pattern: unknown): string =>
    typeof pattern === 'string' ? pattern : this.normalizePattern(pattern as MsPattern);

  constructor(options: ArrpcClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    const { idempotentPatterns } = this.options;
    this.idempotent = idempotentPatterns === true ? true : new Set(idempotentPatterns);
    const logger = new Logger(ArrpcClient.name);
    this.clientMetrics = new ClientMetrics(this.options, logger);
    this.pool = new ConnectionPool(
      this.options,
      this.listeners,
      (status) => this._status$.next(status),
      this.options.debug ? logger : undefined,
      this.clientMetrics.recorder,
    );
  }

  /**
   * Opens a connection now, instead of at the first call (with several
   * endpoints, one to each that takes requests, after the first DNS lookup
   * with `resolve: 'dns'`); resolves at once when one is open, or as soon as
   * one opens. Rejects with `ConnectException` when none opens within
   * `conMaxRetries` attempts. With `metrics` and `metricsPort`, also opens the
   * `/metrics` listener, and rejects when it cannot. After `close()`, makes
   * the client usable again.
   */
  async connect(): Promise<void> {
    await Promise.all([this.pool.connect(), this.clientMetrics.open()]);
  }

  /**
   * Fails queued and in-flight calls with `ClientClosedException`, closes
   * every connection, and gives back its share of the `/metrics` listener.
   */
  async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.clientMetrics.close()]);
  }

  /**
   * The port the standalone `/metrics` listener is bound to (the one picked
   * when `metricsPort` is 0), once `connect()` or the first call opened it;
   * undefined when there is none, and after `close()`.
   */
  getMetricsPort(): number | undefined {
    return this.clientMetrics.listenerPort;
  }

  /** Closes the client when the Nest application shuts down. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }

  /** Registers a listener for a client event; it stays for every later connection. */
  override on<EventKey extends keyof ArrpcClientEvents = keyof ArrpcClientEvents, EventCallback extends ArrpcClientEvents[EventKey] = ArrpcClientEvents[EventKey]>(
    event: EventKey,
    callback: EventCallback,
  ): void {
    this.listeners.add(event, callback);
  }

  /** The options as resolved at construction: every default filled in, frozen. */
  getOptions(): ResolvedClientOptions {
    return this.options;
  }

  /** The {@link ConnectionPool}: its endpoints (state, queue, connections and their sockets). */
  unwrap<T = ConnectionPool>(): T {
    return this.pool as T;
  }

  /**
   * The one answer to `data` sent to `pattern`. `data` may be `null` or
   * `undefined` (written as nil). Unsubscribing before the answer cancels the
   * call, as an aborted `signal` does with {@link call}.
   */
  override send<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    if (isMissing(pattern)) return throwError(missingPattern);
    // Nest's `send()` refuses nil data and calls `connect()` first; the pool
    // connects lazily itself, so only the Observable plumbing is kept.
    return new Observable<TResult>((observer) => this.publish(this.createPacket(pattern, data), this.createObserver(observer)));
  }

  /**
   * Sends an event; the Observable emits the server's acknowledgement (`null`
   * from an `ArrpcServer`, the handler's answer from a Python server) and
   * completes. The event is sent without waiting for a subscriber.
   */
  override emit<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    if (isMissing(pattern)) return throwError(missingPattern);
    const source = connectable(defer(() => this.dispatchEvent<TResult>(this.createPacket(pattern, data))), {
      // Replayed, so a subscriber that comes after the acknowledgement still sees it.
      connector: () => new ReplaySubject<TResult>(1),
      resetOnDisconnect: false,
    });
    source.connect();
    return source;
  }

  /**
   * `send()` as a Promise, as Python's `client.send(msg)`, with a per-call
   * timeout and an `AbortSignal`.
   */
  call<TResult = any, TInput = any>(pattern: any, data: TInput, options: ArrpcCallOptions = {}): Promise<TResult> {
    if (isMissing(pattern)) return Promise.reject(missingPattern());
    const timeoutMs = options.timeoutMs ?? this.options.timeout;
    if (typeof timeoutMs === 'number' && !(timeoutMs <= MAX_TIMEOUT_MS)) {
      return Promise.reject(callCheck.invalid('timeoutMs', `a number of milliseconds up to ${MAX_TIMEOUT_MS}`, timeoutMs));
    }
    return this.submit('request', this.createPacket(pattern, data), timeoutMs, options.signal);
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const request = this.createRequest('request', packet, this.options.timeout, (err, response) =>
      callback(err ? { err } : { response, isDisposed: true }),
    );
    this.pool.submit(request);
    return () => this.pool.cancel(request);
  }

  protected dispatchEvent<T = any>(packet: ReadPacket): Promise<T> {
    return this.submit('event', packet, this.options.timeout);
  }

  private submit<T>(kind: EnvelopeKind, packet: ReadPacket, timeoutMs: number | undefined, signal?: AbortSignal): Promise<T> {
    return new Promise((resolve, reject) => {
      const settle: Settle = (error, value) => (error ? reject(error) : resolve(value as T));
      this.pool.submit(this.createRequest(kind, packet, timeoutMs, settle), signal);
    });
  }

  private createRequest(kind: EnvelopeKind, packet: ReadPacket, timeoutMs: number | undefined, settle: Settle): PendingRequest {
    const { pattern } = packet;
    // The envelope holds a str or a map; other patterns (numbers) take Nest's string form.
    const wirePattern = typeof pattern === 'string' || typeof pattern === 'object' ? pattern : this.normalizePattern(pattern);
    this.clientMetrics.openForCall();
    const span = ClientCallSpan.start(wirePattern, this.patternText);
    // A plain message (the default pattern) has no `meta` to carry the span's context.
    const metadata = span === undefined || wirePattern === ARRPC_DEFAULT_PATTERN ? packet.metadata : span.inject(packet.metadata);
    const message = { kind, pattern: wirePattern, data: packet.data, metadata };
    const request = new PendingRequest(message, timeoutMs, settle, this.metricsPattern(wirePattern));
    request.idempotent = this.isIdempotent(wirePattern);
    request.span = span;
    return request;
  }

  /** Whether `idempotentPatterns` names `pattern` (an object pattern by Nest's normalised text). */
  private isIdempotent(pattern: unknown): boolean {
    const idempotent = this.idempotent;
    if (idempotent === true) return true;
    if (idempotent.size === 0) return false;
    return idempotent.has(this.patternText(pattern));
  }

  /**
   * The pattern as the metrics label it; `undefined` when the call is not
   * recorded (metrics off, or a health check: `arrpc.ping` is not counted).
   */
  private metricsPattern(pattern: unknown): string | undefined {
    if (!this.clientMetrics.recorder.enabled || pattern === ARRPC_PING_PATTERN) return undefined;
    // Only the opt-in histogram reads it: no per-call normalising without it.
    if (this.options.metricsHistogram === false) return '';
    return this.patternText(pattern);
  }
}

function isMissing(pattern: unknown): boolean {
  return pattern === null || pattern === undefined;
}

function missingPattern(): TypeError {
  return new TypeError('ArrpcClient: the pattern must not be null or undefined');
}
