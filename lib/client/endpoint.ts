import type { Socket } from 'node:net';
import { RpcTimeoutException, type ArrpcErrorContext, type ArrpcException, type UnavailableException } from '../errors/index.js';
import type { ClientEndpointMetrics } from '../metrics/index.js';
import { connectSocket, formatAddress } from './connect-socket.js';
import { Connection, type ConnectionOwner, type ConnectionSettings, type FailureFactory } from './connection.js';
import { Ejection } from './ejection.js';
import type { ArrpcEndpointState, EndpointSettings } from './endpoint-settings.js';
import { LinkedQueue } from './linked-queue.js';
import type { PendingRequest } from './pending-request.js';
import { runProbe } from './probe.js';
import { Recovery, type Recoverable } from './recovery.js';
import { retryWithBackoff } from './retry.js';

export type { ArrpcEndpointState, EndpointSettings } from './endpoint-settings.js';

/** The `reason` of `arrpc_client_retries_total` for a connection attempt made again. */
const CONNECT_RETRY_REASON = 'connect';
/** A connection's age varies by this share either way, so connections do not all reconnect at once. */
const AGE_JITTER = 0.1;

/** What an endpoint tells its pool. */
export interface EndpointOwner {
  /** A connection opened. */
  onOpen(endpoint: Endpoint): void;
  onRetry(endpoint: Endpoint, attempt: number, delayMs: number, error: Error): void;
  /** A connection attempt failed (its queued requests count it already): they may go elsewhere. */
  onAttemptFailed(endpoint: Endpoint): void;
  /** Every attempt of one opening failed (`attempts` of them), with `error` the last one. */
  onGiveUp(endpoint: Endpoint, error: Error, attempts: number): void;
  /** {@link Endpoint.state} changed from `previous`; `error` says why when it went down. */
  onStateChange(endpoint: Endpoint, previous: ArrpcEndpointState, error?: Error): void;
  /** Queued requests nothing here can serve any more (no connection, none opening, none allowed). */
  onStranded(endpoint: Endpoint, requests: PendingRequest[]): void;
  /** A written request was lost with its connection (see `ConnectionOwner.onLost`). */
  onLost(endpoint: Endpoint, request: PendingRequest, error: ArrpcException): void;
  /** A request was answered `UnavailableException`: it never ran. */
  onUnavailable(endpoint: Endpoint, request: PendingRequest, error: UnavailableException): void;
  /** A connection closed, for `error` when it did not close on request. */
  onClose(endpoint: Endpoint, error: Error | undefined): void;
  /** A probe failed; the next is due in `delayMs`. */
  onProbeFailed(endpoint: Endpoint, error: Error, delayMs: number): void;
  /** Whether other endpoints could take requests meanwhile (else this one connects on demand only). */
  hasOtherEndpoints(endpoint: Endpoint): boolean;
  /** Whether another endpoint is healthy (`idle` or `up`): else this one is never ejected. */
  hasOtherHealthy(endpoint: Endpoint): boolean;
}

/**
 * One server: its queue of requests, its connections (`poolSize` at most, opened on demand
 * with retries), and its health: failures in a row, ejection, probes, readmission.
 */
export class Endpoint {
  /** The server as `host:port` (`[v6]:port`), as errors, events and metrics name it. */
  readonly address: string;
  /** This endpoint's metrics (labels resolved once); `undefined` with metrics off. */
  readonly metrics: ClientEndpointMetrics | undefined;
  private readonly live: Connection[] = [];
  private readonly queue = new LinkedQueue<PendingRequest>();
  private opening = 0;
  /** The latest opening still under way, for `connect()` to join instead of opening another. */
  private latestOpening: Promise<Connection> | undefined;
  /** `connect()` calls waiting on an opening: it goes on retrying for them even when ejected. */
  private connectWaiters = 0;
  private controller = new AbortController();
  private current: ArrpcEndpointState = 'idle';
  private readonly ejection: Ejection;
  private readonly recovery: Recovery;
  private readonly connectionSettings: ConnectionSettings;
  private readonly connectionOwner: ConnectionOwner;
  private lastGiveUpAttempts = 0;
  private lastAttemptError: Error | undefined;

  constructor(
    /** The server's host name or address. */
    readonly host: string,
    /** The server's port. */
    readonly port: number,
    private readonly settings: EndpointSettings,
    private readonly owner: EndpointOwner,
  ) {
    this.address = formatAddress(host, port);
    const { recorder, connection, tls: tlsOptions } = settings;
    this.metrics = recorder.enabled
      ? recorder.forEndpoint(this.address, connection.encoding.signingKey !== undefined, tlsOptions !== undefined)
      : undefined;
    this.connectionSettings = { ...connection, endpoint: this.address };
    this.ejection = new Ejection(settings.ejection);
    this.recovery = new Recovery(this.recoverable(), this.ejection, settings.backoff.baseMs);
    this.connectionOwner = this.ownConnections();
  }

  /** See {@link ArrpcEndpointState}. */
  get state(): ArrpcEndpointState {
    return this.current;
  }

  /** The open connections (retiring ones included). */
  get connections(): readonly Connection[] {
    return this.live;
  }

  /** Connections being opened (retries included). */
  get openingCount(): number {
    return this.opening;
  }

  /** Requests waiting here for a connection with room, oldest first (a copy). */
  get queued(): readonly PendingRequest[] {
    return [...this.queue];
  }

  /** How many requests wait here for a connection with room. */
  get queuedCount(): number {
    return this.queue.size;
  }

  /** True while no connection is open and one is being opened (retries included). */
  get connecting(): boolean {
    return this.live.length === 0 && this.opening > 0;
  }

  /** Why the latest connection attempt failed, until a connection opens. */
  get lastConnectError(): Error | undefined {
    return this.lastAttemptError;
  }

  /** Connection attempts of the latest opening that gave up. */
  get lastAttempts(): number {
    return this.lastGiveUpAttempts;
  }

  /** Failures in a row since the server last answered. */
  get consecutiveFailures(): number {
    return this.ejection.consecutiveFailures;
  }

  /** Requests in flight here: written and unanswered, plus queued. What the picker compares. */
  get load(): number {
    let load = this.queue.size;
    for (const connection of this.live) load += connection.load;
    return load;
  }

  /** Takes new requests: `idle` or `up`. */
  get healthy(): boolean {
    return this.current === 'idle' || this.current === 'up';
  }

  /** Healthy, but no connection is open and the latest tries failed: others go first. */
  get struggling(): boolean {
    return this.live.length === 0 && this.ejection.consecutiveFailures > 0;
  }

  /** Queues `request` here and writes it as soon as a connection has room; a settled one is left alone. */
  enqueue(request: PendingRequest, leftBecause?: string): void {
    if (request.placeOn(this, this.queue, leftBecause)) this.pump();
  }

  /** Writes queued requests, oldest first, while connections have room; opens more otherwise. */
  pump(): void {
    while (this.queue.size > 0) {
      const connection = this.pickConnection();
      if (connection === undefined) return this.grow();
      const request = this.queue.shift()!;
      // Computed once: the deadline written in `meta` is the one just checked.
      const remainingMs = request.remainingMs();
      // Less than a whole millisecond left: a server would find the deadline passed already.
      if (remainingMs !== undefined && remainingMs < 1) request.fail(new RpcTimeoutException(this.contextOf(request), request.timeoutMs));
      else {
        request.span?.wroteTo(this.host, this.port);
        connection.write(request, remainingMs);
      }
    }
  }

  /** An open connection, the one being opened, or a new one: for an explicit `connect()`. */
  ensureOpen(): Promise<Connection> {
    const open = this.live.find((connection) => connection.accepting);
    if (open !== undefined) return Promise.resolve(open);
    this.connectWaiters++;
    return (this.latestOpening ?? this.open()).finally(() => this.connectWaiters--);
  }

  /**
   * Counts a failure against the server (a connection attempt, a timeout, a broken connection);
   * ejects it at the threshold, unless it is the last healthy endpoint: with nowhere else to
   * send calls, shunning it would only fail them while the server may be back.
   */
  recordFailure(error: Error): void {
    if (this.ejection.fail() && this.healthy && this.owner.hasOtherHealthy(this)) {
      this.setState('ejected', error);
      this.recovery.scheduleProbe();
    }
  }

  /** The server is draining: its connections take no new requests and close once answered. */
  markDraining(): void {
    for (const connection of [...this.live]) connection.retire();
    if (!this.healthy) return;
    this.setState('draining');
    this.recovery.scheduleProbe();
  }

  /** No longer in the DNS answer: stops opening and probing; connections close once answered. */
  remove(): void {
    const previous = this.current;
    this.current = 'removed';
    this.recovery.cancel();
    this.controller.abort(new Error(`${this.address} left the DNS answer`));
    for (const connection of [...this.live]) connection.retire();
    this.owner.onStateChange(this, previous);
  }

  /**
   * The client is closing: stops opening and probing, fails queued requests and those in
   * flight with `failure`, closes every connection, and forgets its health (a later
   * `connect()` starts afresh).
   */
  close(failure: FailureFactory): Promise<void> {
    this.recovery.cancel();
    this.controller.abort(failure({ endpoint: this.address }, undefined));
    this.controller = new AbortController();
    if (this.current !== 'removed') this.current = 'idle';
    this.ejection.reset();
    for (const request of this.queue.drain()) request.fail(failure(this.contextOf(request), undefined));
    const closing = this.live.map((connection) => connection.whenClosed);
    for (const connection of [...this.live]) connection.close(undefined, failure);
    return Promise.all(closing).then(() => undefined);
  }

  /**
   * Where the next queued request goes: an idle connection; else none while the pool may grow,
   * so that a new connection opens for it (answers come in order, and a busy connection may be
   * busy with a slow call); else the connection with the fewest requests in flight that has room
   * and is not stalled (see `Connection.stalled`).
   */
  private pickConnection(): Connection | undefined {
    let best: Connection | undefined;
    let accepting = 0;
    let now = 0;
    for (const connection of this.live) {
      if (!connection.accepting) continue;
      accepting++;
      if (!connection.hasRoom || (best !== undefined && connection.load >= best.load)) continue;
      if (connection.load === 0) return connection;
      if (connection.stalled((now ||= performance.now()))) continue;
      best = connection;
    }
    return best !== undefined && this.mayGrow(accepting) ? undefined : best;
  }

  /**
   * Whether a new connection should open rather than a busy one take more: the pool has room
   * under {@link mostConnections} (`accepting` open, plus those opening), which also keeps it
   * from growing after a failure since the server last answered, and the server looks well. Not
   * after a failed attempt either (until a connection opens): a server refusing more connections
   * must not hold calls back from those it has.
   */
  private mayGrow(accepting: number): boolean {
    return this.healthy && this.lastAttemptError === undefined && accepting + this.opening < this.mostConnections(accepting);
  }

  /**
   * Opens connections, up to `poolSize`, until queued requests would find room on them; an
   * ejected or removed endpoint opens none, and hands back what nothing here can serve. Once an
   * attempt failed (until a connection opens), one opening at a time: each that gave up would
   * otherwise start another while the rest still retry, and queued calls would never fail.
   */
  private grow(): void {
    let accepting = 0;
    for (const connection of this.live) if (connection.accepting) accepting++;
    if (this.current === 'ejected' || this.current === 'removed') {
      if (accepting === 0 && this.opening === 0) this.owner.onStranded(this, this.queue.drain());
      return;
    }
    const most = this.mostConnections(accepting);
    const { capacity } = this.settings.connection;
    while (accepting + this.opening < most && this.opening * capacity < this.queue.size) {
      this.open().catch(() => {
        // Reported through `onGiveUp`; nobody awaits this opening.
      });
    }
  }

  /**
   * How many connections may be open or opening (`grow`, `mayGrow`). After a failure since the
   * last answer (a connection broken, a call timed out), no more than those still taking requests
   * (one if none): a server dying by SIGKILL accepts connections until its listener closes, and
   * what is written on a new one is lost with the rest.
   */
  private mostConnections(accepting: number): number {
    const { poolSize } = this.settings;
    if (this.ejection.consecutiveFailures > 0) return Math.max(accepting, 1);
    return this.lastAttemptError === undefined ? poolSize : Math.min(poolSize, accepting + 1);
  }

  /** Opens one connection with retries; rejects with the last error or the abort reason. */
  private open(): Promise<Connection> {
    const opening = this.openWithRetries(this.controller.signal).finally(() => {
      if (this.latestOpening === opening) this.latestOpening = undefined;
    });
    this.latestOpening = opening;
    return opening;
  }

  private async openWithRetries(signal: AbortSignal): Promise<Connection> {
    this.opening++;
    let attempts = 0;
    const target = { host: this.host, port: this.port, tls: this.settings.tls, timeoutMs: this.settings.connectTimeoutMs };
    const attempt = (): Promise<Socket> => {
      attempts++;
      return connectSocket(target, signal).catch((error: Error) => {
        if (!signal.aborted) this.attemptFailed(error);
        throw error;
      });
    };
    const onRetry = (error: unknown, attempt: number, delayMs: number): void => {
      this.metrics?.retry(CONNECT_RETRY_REASON);
      this.owner.onRetry(this, attempt, delayMs, error as Error);
    };
    let socket: Socket;
    try {
      socket = await retryWithBackoff(attempt, this.settings.backoff, signal, onRetry, () => this.wantsConnection());
    } catch (error) {
      this.opening--;
      if (!signal.aborted) {
        this.lastGiveUpAttempts = attempts;
        this.owner.onGiveUp(this, error as Error, attempts);
        this.pump();
        this.recovery.reconnectLater();
      }
      throw error;
    }
    this.opening--;
    // The client may have closed while the last attempt was finishing.
    if (signal.aborted) {
      socket.destroy();
      throw signal.reason;
    }
    return this.adopt(socket, false);
  }

  /** Whether an opening under way should go on retrying: not once ejected with nobody waiting. */
  private wantsConnection(): boolean {
    if (this.current === 'removed') return false;
    return this.current !== 'ejected' || this.queue.size > 0 || this.connectWaiters > 0;
  }

  private attemptFailed(error: Error): void {
    this.lastAttemptError = error;
    for (const request of this.queue) request.attemptsHere++;
    this.recordFailure(error);
    this.owner.onAttemptFailed(this);
  }

  /** Makes a connection of `socket`; `readmitted` after a successful probe. */
  private adopt(socket: Socket, readmitted: boolean): Connection {
    const connection = new Connection(socket, this.connectionSettings, this.connectionOwner);
    this.live.push(connection);
    this.lastAttemptError = undefined;
    const { maxConnectionAgeMs, random } = this.settings;
    if (maxConnectionAgeMs !== undefined) connection.retireAfter(maxConnectionAgeMs * (1 - AGE_JITTER + 2 * AGE_JITTER * random()));
    this.owner.onOpen(this);
    if (this.current === 'idle' || readmitted) this.setState('up');
    this.pump();
    return connection;
  }

  /** Makes a connection of a probe's socket, and takes the endpoint back. */
  private readmit(socket: Socket): void {
    this.ejection.reset();
    this.adopt(socket, true);
  }

  private recoverable(): Recoverable {
    const endpoint = this;
    return {
      get signal() {
        return endpoint.controller.signal;
      },
      get down() {
        return endpoint.current === 'ejected' || endpoint.current === 'draining';
      },
      get wantsReconnect() {
        // Alone, it gets every request anyway and connects for them, as the Python client does.
        return endpoint.healthy && endpoint.struggling && endpoint.opening === 0 && endpoint.owner.hasOtherEndpoints(endpoint);
      },
      probe: (signal) => runProbe({ host: this.host, port: this.port, tls: this.settings.tls }, this.settings.probe, signal),
      readmit: (socket) => this.readmit(socket),
      probeFailed: (error, delayMs) => this.owner.onProbeFailed(this, error, delayMs),
      reconnect: () =>
        void this.open().catch(() => {
          // Reported through `onGiveUp`.
        }),
    };
  }

  private setState(state: ArrpcEndpointState, error?: Error): void {
    const previous = this.current;
    this.current = state;
    this.owner.onStateChange(this, previous, error);
  }

  /** Keeps `live` current and the pool informed; counts broken connections and answers. */
  private ownConnections(): ConnectionOwner {
    return {
      onAnswer: () => this.ejection.succeed(),
      onRoom: () => this.pump(),
      onAbandoned: (reason) => {
        // A request that timed out there counts against the server; a cancelled one does not.
        if (reason instanceof RpcTimeoutException) this.recordFailure(reason);
      },
      onUnavailable: (request, error) => this.owner.onUnavailable(this, request, error),
      onDraining: () => this.markDraining(),
      onLost: (request, error) => this.owner.onLost(this, request, error),
      onClose: (connection, error, failed) => {
        const index = this.live.indexOf(connection);
        if (index !== -1) this.live.splice(index, 1);
        this.owner.onClose(this, error);
        if (failed) this.recordFailure(error ?? new Error(`connection to ${this.address} failed`));
        this.pump();
        this.recovery.reconnectLater();
      },
    };
  }

  private contextOf(request: PendingRequest): ArrpcErrorContext {
    return { pattern: request.message.pattern, endpoint: this.address };
  }
}
