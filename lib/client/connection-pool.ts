import type { Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import { ArrpcStatus, DEFAULT_PROBE_TIMEOUT_MS } from '../constants.js';
import {
  CancelledException,
  ClientClosedException,
  ConnectException,
  ConnectionLostException,
  QueueFullException,
  RpcTimeoutException,
  type ArrpcConnectAttempt,
  type ArrpcErrorContext,
} from '../errors/index.js';
import type { ClientEndpointMetrics, ClientMetricsRecorder } from '../metrics/index.js';
import type { ArrpcEndpointAddress, ResolvedClientOptions } from '../options/index.js';
import type { ClientEventListeners } from './arrpc-client.events.js';
import { formatAddress } from './connect-socket.js';
import { connectFailure, noEndpointFailure } from './connect-failure.js';
import { Endpoint, type EndpointOwner, type EndpointSettings } from './endpoint.js';
import { EndpointSet } from './endpoint-set.js';
import { LinkedQueue } from './linked-queue.js';
import type { PendingRequest } from './pending-request.js';
import { Picker, type RandomSource } from './picker.js';
import { createProbeSettings } from './probe.js';
import { createRequestEncoding } from './request-encoding.js';
import { Resolver } from './resolver.js';
import { RetryBudget } from './retry-budget.js';
import { decideRetry, type Displacement } from './retry-policy.js';
import { createTlsOptions } from './tls-options.js';

/**
 * Every connection of one `ArrpcClient` (what `unwrap()` returns): its endpoints, each with its
 * queue and its open connections, and the rules that choose an endpoint for each request and
 * move requests when an endpoint fails (docs/replicas.md).
 */
export class ConnectionPool {
  private readonly set: EndpointSet;
  private readonly budget: RetryBudget;
  private readonly resolver: Resolver | undefined;
  /** Calls waiting for the first DNS answer. */
  private readonly unresolved = new LinkedQueue<PendingRequest>();
  /** Endpoints that left the DNS answer while connections to them were still open. */
  private readonly leaving = new Set<Endpoint>();
  private lookupError: Error | undefined;
  private readonly recorder: ClientMetricsRecorder;
  /** The `signed_payload` and `tls` labels. */
  private readonly signedTls: readonly [boolean, boolean];
  private readonly target: string;
  private closed = false;
  private status: ArrpcStatus = ArrpcStatus.Disconnected;

  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly events: ClientEventListeners,
    private readonly onStatus: (status: ArrpcStatus) => void,
    private readonly logger: Logger | undefined,
    recorder: ClientMetricsRecorder,
    random: RandomSource = Math.random,
  ) {
    const settings = endpointSettings(options, logger, recorder, random);
    const owner = this.endpointOwner();
    this.set = new EndpointSet(new Picker(options.balance, random), ({ host, port }) => new Endpoint(host, port, settings, owner));
    this.budget = new RetryBudget(options.retryBudget);
    const first = options.endpoints[0]!;
    this.target = formatAddress(first.host, first.port);
    if (options.resolve === 'dns') {
      this.resolver = new Resolver(first, options.lookup!, options.resolveIntervalMs, {
        onAddresses: (addresses) => this.applyAddresses(addresses),
        onLookupError: (error) => this.lookupFailed(error),
      });
    } else {
      this.set.update(options.endpoints);
    }
    this.recorder = recorder;
    this.signedTls = [options.authSecret !== undefined, settings.tls !== undefined];
    onStatus(this.status);
  }

  /** The servers this pool sends to: the `endpoints` given, or the addresses `host` resolved to. */
  get endpoints(): readonly Endpoint[] {
    return this.set.endpoints;
  }

  /** Every open socket (`net.Socket`, or `tls.TLSSocket` with TLS). */
  get sockets(): Socket[] {
    return [...this.set.endpoints, ...this.leaving].flatMap((endpoint) => endpoint.connections.map((connection) => connection.socket));
  }

  /**
   * Sends `request` to the endpoint the balancer picks, starting its timeout and
   * cancellation; it is written as soon as a connection there has room.
   */
  submit(request: PendingRequest, signal?: AbortSignal): void {
    if (this.closed) return this.failUnassigned(request, new ClientClosedException(this.contextOf(request)));
    if (signal?.aborted) return this.failUnassigned(request, new CancelledException(this.contextOf(request), signal.reason));
    if (request.deadline !== undefined && !(request.remainingMs()! >= 1)) {
      return this.failUnassigned(request, new RpcTimeoutException(this.contextOf(request), request.timeoutMs));
    }
    if (this.queued() >= this.options.maxQueued) {
      return this.failUnassigned(request, new QueueFullException(this.contextOf(request), this.options.maxQueued));
    }
    this.budget.recordRequest();
    if (request.deadline !== undefined || signal !== undefined) {
      request.watch(
        signal,
        () => request.withdraw(this.timeoutError(request)),
        () => request.withdraw(new CancelledException(this.contextOf(request), signal?.reason)),
      );
    }
    if (this.resolver !== undefined && !this.resolver.resolved) {
      request.wait(this.unresolved);
      this.startResolving();
      return;
    }
    this.route(request);
  }

  /** Cancels `request` unless it has settled (an unsubscribe from `send()`). */
  cancel(request: PendingRequest): void {
    // Also called after every answer (rxjs tears down on complete): cheap when settled.
    if (!request.settled) request.withdraw(new CancelledException(this.contextOf(request)));
  }

  /**
   * Opens a connection now to each endpoint that takes requests, and resolves as soon as one
   * is open; rejects with `ConnectException` when none opens. After `close()`, makes the pool
   * usable again.
   */
  async connect(): Promise<void> {
    this.closed = false;
    if (this.resolver !== undefined) {
      this.startResolving();
      if (!this.resolver.resolved) await this.resolver.refresh();
    }
    const endpoints = this.set.endpoints;
    let candidates = endpoints.filter((endpoint) => endpoint.healthy);
    if (candidates.length === 0) candidates = endpoints.filter((endpoint) => endpoint.state === 'draining');
    if (candidates.length === 0) {
      const tried: ArrpcConnectAttempt[] = endpoints.map((endpoint) => ({ endpoint: endpoint.address, attempts: 0, skipped: endpoint.state }));
      if (tried.length === 0) tried.push({ endpoint: this.target, attempts: 0, skipped: `DNS lookup failed: ${this.lookupError?.message}` });
      throw new ConnectException({ endpoint: tried[0]!.endpoint }, 0, this.lookupError, tried);
    }
    const openings = candidates.map((endpoint) => endpoint.ensureOpen());
    this.refreshStatus();
    try {
      await Promise.any(openings);
    } catch (error) {
      if (this.closed) throw new ClientClosedException({ endpoint: candidates[0]!.address });
      const errors = (error as AggregateError).errors;
      const tried = candidates.map((endpoint) => ({ endpoint: endpoint.address, attempts: endpoint.lastAttempts }));
      const attempts = tried.reduce((sum, entry) => sum + entry.attempts, 0);
      throw new ConnectException({ endpoint: candidates[0]!.address }, attempts, errors.at(-1), tried);
    }
  }

  /**
   * Fails queued and in-flight calls with `ClientClosedException`, stops connecting, probing
   * and looking up, and closes every socket. Later calls fail the same way until `connect()`.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.resolver?.stop();
    for (const request of this.unresolved.drain()) request.fail(new ClientClosedException(this.contextOf(request)));
    const closed = (context: ArrpcErrorContext) => new ClientClosedException(context);
    await Promise.all([...this.set.endpoints, ...this.leaving].map((endpoint) => endpoint.close(closed)));
    this.leaving.clear();
    this.refreshStatus();
  }

  /** Sends a new request to the endpoint the balancer picks, or fails it when every one is ejected. */
  private route(request: PendingRequest): void {
    const endpoint = this.set.choose(request, true);
    if (endpoint === undefined) {
      // Failing fast must still give timers a turn: a caller that retries in a loop would
      // otherwise starve the readmission probe that ends the outage.
      const error = noEndpointFailure(request, this.set.endpoints, this.target, this.lookupError);
      setImmediate(() => this.failUnassigned(request, error));
      return;
    }
    endpoint.enqueue(request);
    if (this.status !== ArrpcStatus.Connected) this.refreshStatus();
  }

  /**
   * Sends a call that `from` cannot serve (see {@link Displacement}) where the retry policy
   * says, or ends it with `move.error()`; without `error`, a call that cannot move waits where
   * it is. `anywhere`: `from` is gone, so an endpoint the call was on before will do too.
   */
  private displace(request: PendingRequest, from: Endpoint, why: Displacement, move: Move = {}): void {
    const next = request.settled ? undefined : (this.set.choose(request, false) ?? (move.anywhere ? this.set.choose(withoutHistory, true) : undefined));
    const otherwise = move.error === undefined ? 'stay' : 'fail';
    const decision = decideRetry({ request, why, from, next, closed: this.closed, otherwise, budget: () => this.budget.tryRetry() });
    if (decision.kind === 'fail') return request.fail(move.error!());
    if (decision.kind !== 'move') return;
    if (decision.resend) request.resent = true;
    from.metrics?.retry(decision.reason);
    this.logger?.debug(`request to ${String(request.message.pattern)} moves from ${from.address} to ${decision.to.address} (${decision.reason})`);
    decision.to.enqueue(request, move.leftBecause);
  }

  private endpointOwner(): EndpointOwner {
    return {
      onOpen: (endpoint) => {
        this.logger?.debug(`connected to ${endpoint.address}`);
        this.events.emit('connect', endpoint.address);
        this.refreshStatus();
      },
      onRetry: (endpoint, attempt, delayMs, error) => {
        this.logger?.debug(`connecting to ${endpoint.address} failed (attempt ${attempt}): ${error.message}; next in ${delayMs} ms`);
        this.events.emit('retry', endpoint.address, attempt, delayMs, error);
      },
      onAttemptFailed: (endpoint) => {
        // Requests that never ran go elsewhere rather than wait for this endpoint's retries.
        for (const request of endpoint.queued) this.displace(request, endpoint, 'unreachable');
      },
      onGiveUp: (endpoint, error, attempts) => this.giveUp(endpoint, error, attempts),
      onStateChange: (endpoint, previous, error) => this.stateChanged(endpoint, previous, error),
      onStranded: (endpoint, requests) => {
        const { state } = endpoint;
        for (const request of requests) {
          this.displace(request, endpoint, 'unreachable', { error: () => connectFailure(request, endpoint, undefined), leftBecause: state, anywhere: state === 'removed' });
        }
      },
      onLost: (endpoint, request, error) => {
        const why = error instanceof ConnectionLostException ? 'lost' : 'ended';
        this.displace(request, endpoint, why, { error: () => error, leftBecause: 'connection lost' });
      },
      onUnavailable: (endpoint, request, error) => {
        endpoint.markDraining();
        this.displace(request, endpoint, 'unavailable', { error: () => error, leftBecause: 'draining' });
      },
      onClose: (endpoint, error) => {
        this.events.emit('disconnect', endpoint.address, error);
        if (endpoint.state === 'removed' && endpoint.connections.length === 0) this.leaving.delete(endpoint);
      },
      onProbeFailed: (endpoint, error, delayMs) => {
        this.logger?.debug(`probe of ${endpoint.address} failed: ${error.message}; next in ${delayMs} ms`);
      },
      hasOtherEndpoints: (endpoint) => this.set.endpoints.some((other) => other !== endpoint),
      hasOtherHealthy: (endpoint) => this.set.endpoints.some((other) => other !== endpoint && other.healthy),
    };
  }

  /** Connecting failed for good: requests that no open or opening connection can serve go elsewhere or fail. */
  private giveUp(endpoint: Endpoint, error: Error, attempts: number): void {
    this.logger?.debug(`giving up connecting to ${endpoint.address}: ${error.message}`);
    this.events.emit('error', new ConnectException({ endpoint: endpoint.address }, attempts, error));
    if (endpoint.connections.length === 0 && endpoint.openingCount === 0) {
      for (const request of endpoint.queued) this.displace(request, endpoint, 'unreachable', { error: () => connectFailure(request, endpoint, attempts, error) });
    }
    this.refreshStatus();
  }

  private stateChanged(endpoint: Endpoint, previous: string, error: Error | undefined): void {
    const state = endpoint.state;
    if (state === 'up') {
      const reason = previous === 'idle' ? 'connected' : 'readmitted';
      this.logger?.debug(`${endpoint.address} is up (${reason})`);
      this.events.emit('endpoint-up', endpoint.address, reason);
    } else if (state === 'ejected' || state === 'draining' || state === 'removed') {
      this.logger?.debug(`${endpoint.address} is down (${state})${error ? `: ${error.message}` : ''}`);
      this.events.emit('endpoint-down', endpoint.address, state, error);
      for (const request of endpoint.queued) this.displace(request, endpoint, 'unreachable', { leftBecause: state, anywhere: state === 'removed' });
      if (state !== 'removed') this.resolver?.refresh();
      // What is left either waits for a connection under way or is handed back as stranded.
      endpoint.pump();
    }
    this.refreshStatus();
  }

  private startResolving(): void {
    this.resolver!.start();
    void this.resolver!.refresh();
  }

  private applyAddresses(addresses: readonly ArrpcEndpointAddress[]): void {
    if (this.closed) return;
    this.lookupError = undefined;
    for (const endpoint of this.set.update(addresses)) {
      if (endpoint.connections.length > 0) this.leaving.add(endpoint);
      endpoint.remove();
    }
    for (const request of this.unresolved.drain()) this.route(request);
    this.refreshStatus();
  }

  private lookupFailed(error: Error): void {
    this.lookupError = error;
    this.logger?.debug(`DNS lookup of ${this.target} failed: ${error.message}; ${this.set.endpoints.length} endpoint(s) kept`);
    if (this.resolver!.resolved) return;
    for (const request of this.unresolved.drain()) {
      this.failUnassigned(request, noEndpointFailure(request, [], this.target, error));
    }
  }

  /** Calls waiting for a connection with room (or for the first DNS answer), over every endpoint. */
  private queued(): number {
    let count = this.unresolved.size;
    for (const endpoint of this.set.endpoints) count += endpoint.queuedCount;
    return count;
  }

  /** Fails a request that reached no endpoint: recorded under the one endpoint there is, else under none. */
  private failUnassigned(request: PendingRequest, error: Error): void {
    const endpoints = this.set.endpoints;
    request.metrics ??= endpoints.length === 1 ? endpoints[0]!.metrics : this.unassignedMetrics();
    request.fail(error);
  }

  /**
   * What failures that belong to no endpoint record into (every endpoint ejected, say), with
   * `remote_address` empty; asked for only then, so no empty series shows otherwise.
   */
  private unassignedMetrics(): ClientEndpointMetrics | undefined {
    return this.recorder.enabled ? this.recorder.forEndpoint('', ...this.signedTls) : undefined;
  }

  /**
   * Nest's contract: `connecting`, then `connected` or `disconnected`. An endpoint whose first
   * connection just opened (`onOpen`) is still connecting until it is marked up.
   */
  private refreshStatus(): void {
    const endpoints = this.set.endpoints;
    const status = endpoints.some((endpoint) => endpoint.state === 'up')
      ? ArrpcStatus.Connected
      : endpoints.some((endpoint) => endpoint.openingCount > 0 || (endpoint.state === 'idle' && endpoint.connections.length > 0))
        ? ArrpcStatus.Connecting
        : ArrpcStatus.Disconnected;
    if (status === this.status) return;
    this.status = status;
    this.onStatus(status);
  }

  /** The error of a call whose time ran out: it says so when the time ran out while connecting. */
  private timeoutError(request: PendingRequest): RpcTimeoutException {
    const context = this.contextOf(request);
    const site = request.site;
    const connecting = request.state === 'queued' && site?.connecting ? { lastError: site.lastConnectError } : undefined;
    return new RpcTimeoutException(context, request.timeoutMs, undefined, connecting);
  }

  private contextOf(request: PendingRequest): ArrpcErrorContext {
    return { pattern: request.message.pattern, endpoint: request.site?.address ?? this.set.endpoints[0]?.address ?? this.target };
  }
}

/** How {@link ConnectionPool.displace} treats a call that cannot move, and what a move records. */
interface Move {
  /** The error it fails with when it cannot move; without one, it waits where it is. */
  readonly error?: () => Error;
  /** Why it left, for the `ConnectException` that may end it elsewhere. */
  readonly leftBecause?: string;
  /** Its endpoint is gone: an endpoint it was on before will do too. */
  readonly anywhere?: boolean;
}

/** A stand-in request that has been nowhere: any endpoint is a candidate for it. */
const withoutHistory = { hasTried: () => false } as unknown as PendingRequest;

/** What every endpoint of one client shares. */
function endpointSettings(options: ResolvedClientOptions, logger: Logger | undefined, recorder: ClientMetricsRecorder, random: RandomSource): EndpointSettings {
  const encoding = createRequestEncoding(options);
  return {
    poolSize: options.poolSize,
    backoff: { attempts: options.conMaxRetries, baseMs: options.retryBaseMs },
    connectTimeoutMs: options.timeout,
    tls: createTlsOptions(options),
    recorder,
    maxConnectionAgeMs: options.maxConnectionAgeMs,
    ejection: { afterFailures: options.ejectAfterFailures, backoffMs: options.ejectionBackoffMs, backoffMaxMs: options.ejectionBackoffMaxMs },
    probe: createProbeSettings(options, options.timeout ?? DEFAULT_PROBE_TIMEOUT_MS, encoding),
    random,
    connection: {
      capacity: options.pipeline,
      headOfLineMs: options.headOfLineMs,
      limits: { maxMessageBytes: options.maxMessageBytes },
      encoding,
      logger,
    },
  };
}
