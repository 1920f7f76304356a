import type { Socket } from 'node:net';
import type { Logger } from '@nestjs/common';
import { ArrpcStatus } from '../constants.js';
import {
  CancelledException,
  ClientClosedException,
  ConnectException,
  RpcTimeoutException,
  type ArrpcErrorContext,
} from '../errors/index.js';
import type { ClientMetricsRecorder } from '../metrics/index.js';
import type { ResolvedClientOptions } from '../options/index.js';
import type { ClientEventListeners } from './arrpc-client.events.js';
import { Endpoint, type EndpointOwner } from './endpoint.js';
import type { PendingRequest } from './pending-request.js';
import { createTlsOptions } from './tls-options.js';

/**
 * Every connection of one `ArrpcClient` (what `unwrap()` returns): its
 * endpoints, each with its open connections and their sockets, and the queue
 * of calls waiting for room, served in order.
 *
 * Today a pool has a single endpoint; the structure (queue here, connections
 * per endpoint) is the one a pool of several servers extends.
 */
export class ConnectionPool {
  /** The servers this pool connects to. */
  readonly endpoints: readonly Endpoint[];
  private readonly endpoint: Endpoint;
  private readonly queue: PendingRequest[] = [];
  private controller = new AbortController();
  private closed = false;
  private status: ArrpcStatus = ArrpcStatus.Disconnected;

  constructor(
    private readonly options: ResolvedClientOptions,
    private readonly events: ClientEventListeners,
    private readonly onStatus: (status: ArrpcStatus) => void,
    private readonly logger: Logger | undefined,
    recorder: ClientMetricsRecorder,
  ) {
    this.endpoint = new Endpoint(
      {
        host: options.host,
        port: options.port,
        poolSize: options.poolSize,
        backoff: { attempts: options.conMaxRetries, baseMs: options.retryBaseMs },
        connectTimeoutMs: options.timeout,
        tls: createTlsOptions(options),
        recorder,
        connection: {
          capacity: options.pipeline,
          limits: { maxMessageBytes: options.maxMessageBytes },
          encoding: { authSecret: options.authSecret, peer: options.peer },
          logger,
        },
      },
      this.endpointOwner(),
    );
    this.endpoints = [this.endpoint];
    onStatus(this.status);
  }

  /** Every open socket (`net.Socket`, or `tls.TLSSocket` with TLS). */
  get sockets(): Socket[] {
    return this.endpoints.flatMap((endpoint) => endpoint.connections.map((connection) => connection.socket));
  }

  /**
   * Queues `request`, starts its timeout and cancellation, and writes it as
   * soon as a connection has room, opening one if the pool may.
   */
  submit(request: PendingRequest, signal?: AbortSignal): void {
    // Failures before any write count against the endpoint the call waits for.
    request.metrics = this.endpoint.metrics;
    if (this.closed) return request.fail(new ClientClosedException(this.contextOf(request)));
    if (signal?.aborted) return request.fail(new CancelledException(this.contextOf(request), signal.reason));
    if (this.failIfExpired(request, request.remainingMs())) return;
    if (request.deadline !== undefined || signal !== undefined) {
      request.watch(
        signal,
        () => this.withdraw(request, new RpcTimeoutException(this.contextOf(request), request.timeoutMs)),
        () => this.withdraw(request, new CancelledException(this.contextOf(request), signal?.reason)),
      );
    }
    this.queue.push(request);
    this.pump();
  }

  /** Cancels `request` unless it has settled (an unsubscribe from `send()`). */
  cancel(request: PendingRequest): void {
    // Also called after every answer (rxjs tears down on complete): cheap when settled.
    if (!request.settled) this.withdraw(request, new CancelledException(this.contextOf(request)));
  }

  /** Opens a connection now unless one is open; rejects with `ConnectException`. */
  async connect(): Promise<void> {
    if (this.closed) {
      this.closed = false;
      this.controller = new AbortController();
    }
    const signal = this.controller.signal;
    try {
      await this.endpoint.ensureOpen(signal);
    } catch (error) {
      if (signal.aborted) throw new ClientClosedException({ endpoint: this.endpoint.address });
      throw new ConnectException({ endpoint: this.endpoint.address }, this.options.conMaxRetries, error);
    }
  }

  /**
   * Fails queued and in-flight calls with `ClientClosedException`, stops
   * connecting and closes every socket. Later calls fail the same way until
   * `connect()` is called again.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.controller.abort(new ClientClosedException({ endpoint: this.endpoint.address }));
    for (const request of this.queue.splice(0)) request.fail(new ClientClosedException(this.contextOf(request)));
    await Promise.all(this.endpoints.map((endpoint) => endpoint.close(undefined, (context) => new ClientClosedException(context))));
    this.refreshStatus();
  }

  /**
   * Ends `request` with `error` unless it has settled. A queued call just
   * leaves the queue; a written one takes its connection down with it, since
   * its answer may still come and would reach the next caller.
   */
  private withdraw(request: PendingRequest, error: Error): void {
    if (request.settled) return;
    const connection = request.connection;
    if (request.state === 'queued') this.queue.splice(this.queue.indexOf(request), 1);
    request.fail(error);
    connection?.close(error);
  }

  /** Writes queued calls, oldest first, while connections have room; asks for more connections otherwise. */
  private pump(): void {
    while (this.queue.length > 0) {
      const connection = this.endpoint.pick();
      if (connection === undefined) {
        if (!this.closed) this.endpoint.grow(this.queue.length, this.controller.signal);
        break;
      }
      const request = this.queue.shift()!;
      // Computed once: the deadline written in `meta` is the one just checked.
      const remainingMs = request.remainingMs();
      if (!this.failIfExpired(request, remainingMs)) connection.write(request, remainingMs);
    }
    this.refreshStatus();
  }

  /**
   * Fails `request` with `RpcTimeoutException` when less than a whole
   * millisecond is left: a server would find its deadline already passed.
   */
  private failIfExpired(request: PendingRequest, remainingMs: number | undefined): boolean {
    if (remainingMs === undefined || remainingMs >= 1) return false;
    request.fail(new RpcTimeoutException(this.contextOf(request), request.timeoutMs));
    return true;
  }

  private endpointOwner(): EndpointOwner {
    return {
      onOpen: (endpoint) => {
        this.logger?.debug(`connected to ${endpoint.address}`);
        this.events.emit('connect', endpoint.address);
        this.pump();
      },
      onRetry: (endpoint, attempt, delayMs, error) => {
        this.logger?.debug(`connecting to ${endpoint.address} failed (attempt ${attempt}): ${error.message}; next in ${delayMs} ms`);
        this.events.emit('retry', endpoint.address, attempt, delayMs, error);
      },
      onGiveUp: (endpoint, error) => this.giveUp(endpoint, error),
      onRoom: () => this.pump(),
      onUnavailable: (connection) => {
        // The server is draining: it takes no new work on any of these connections.
        this.logger?.debug(`${connection.endpoint} is draining; its connections are closed once answered`);
        for (const endpoint of this.endpoints) if (endpoint.connections.includes(connection)) endpoint.retire();
      },
      onClose: (connection, error) => {
        this.events.emit('disconnect', connection.endpoint, error);
        this.pump();
      },
    };
  }

  /** Connecting failed for good: calls that no open or opening connection can serve fail. */
  private giveUp(endpoint: Endpoint, error: Error): void {
    this.logger?.debug(`giving up connecting to ${endpoint.address}: ${error.message}`);
    this.events.emit('error', new ConnectException({ endpoint: endpoint.address }, this.options.conMaxRetries, error));
    if (endpoint.connections.length === 0 && endpoint.openingCount === 0) {
      for (const request of this.queue.splice(0)) {
        request.fail(new ConnectException(this.contextOf(request), this.options.conMaxRetries, error));
      }
    }
    this.refreshStatus();
  }

  private refreshStatus(): void {
    const endpoints = this.endpoints;
    const status = endpoints.some((endpoint) => endpoint.connections.length > 0)
      ? ArrpcStatus.Connected
      : endpoints.some((endpoint) => endpoint.openingCount > 0)
        ? ArrpcStatus.Connecting
        : ArrpcStatus.Disconnected;
    if (status === this.status) return;
    this.status = status;
    this.onStatus(status);
  }

  private contextOf(request: PendingRequest): ArrpcErrorContext {
    return { pattern: request.message.pattern, endpoint: this.endpoint.address };
  }
}
