import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientEndpointMetrics, ClientMetricsRecorder } from '../metrics/index.js';
import { Connection, type ConnectionOwner, type ConnectionSettings, type FailureFactory } from './connection.js';
import { retryWithBackoff, type BackoffPolicy } from './retry.js';

/** How an endpoint opens its connections. */
export interface EndpointSettings {
  readonly host: string;
  readonly port: number;
  /** Connections kept open at most (the `poolSize` option). */
  readonly poolSize: number;
  readonly backoff: BackoffPolicy;
  /** Bounds each connection attempt, in ms. */
  readonly connectTimeoutMs: number | undefined;
  /** `tls.connect` options; `undefined` for plain TCP. */
  readonly tls: tls.ConnectionOptions | undefined;
  readonly connection: Omit<ConnectionSettings, 'endpoint' | 'metrics'>;
  /** The client's recorder; the no-op one with metrics off. */
  readonly recorder: ClientMetricsRecorder;
}

/** The `reason` of `arrpc_client_retries_total` for a connection attempt made again. */
const CONNECT_RETRY_REASON = 'connect';

/** What an endpoint tells its pool, besides what its connections say. */
export interface EndpointOwner extends ConnectionOwner {
  onOpen(endpoint: Endpoint, connection: Connection): void;
  /** Every attempt of one opening failed with `error` (the last one). */
  onGiveUp(endpoint: Endpoint, error: Error): void;
  onRetry(endpoint: Endpoint, attempt: number, delayMs: number, error: Error): void;
}

/**
 * The connections to one server, `poolSize` at most, opened on demand with
 * retries. A pool holds one endpoint per server.
 */
export class Endpoint {
  /** The server as `host:port`, as errors, events and metrics name it. */
  readonly address: string;
  /** This endpoint's metrics (labels resolved once); `undefined` with metrics off. */
  readonly metrics: ClientEndpointMetrics | undefined;
  private readonly live: Connection[] = [];
  private opening = 0;
  /** The latest opening still under way, for `connect()` to join instead of opening another. */
  private latestOpening: Promise<Connection> | undefined;
  private readonly connectionSettings: ConnectionSettings;

  constructor(
    private readonly settings: EndpointSettings,
    private readonly owner: EndpointOwner,
  ) {
    this.address = `${settings.host}:${settings.port}`;
    const { recorder, connection, tls: tlsOptions } = settings;
    this.metrics = recorder.enabled
      ? recorder.forEndpoint(this.address, connection.encoding.authSecret !== undefined, tlsOptions !== undefined)
      : undefined;
    this.connectionSettings = { ...connection, endpoint: this.address, metrics: this.metrics };
  }

  /** The server's host name or address. */
  get host(): string {
    return this.settings.host;
  }

  /** The server's port. */
  get port(): number {
    return this.settings.port;
  }

  /** The open connections. */
  get connections(): readonly Connection[] {
    return this.live;
  }

  /** Connections being opened (retries included). */
  get openingCount(): number {
    return this.opening;
  }

  /** The open connection with the fewest requests in flight that can take one more. */
  pick(): Connection | undefined {
    let best: Connection | undefined;
    for (const connection of this.live) {
      if (connection.hasRoom && (best === undefined || connection.load < best.load)) best = connection;
    }
    return best;
  }

  /** Opens connections, up to `poolSize`, until `waiting` requests would find room on them. */
  grow(waiting: number, signal: AbortSignal): void {
    const { poolSize, connection } = this.settings;
    while (this.live.length + this.opening < poolSize && this.opening * connection.capacity < waiting) {
      this.open(signal).catch(() => {
        // Reported through `onGiveUp`; nobody awaits this opening.
      });
    }
  }

  /** An open connection, the one being opened, or a new one: for an explicit `connect()`. */
  ensureOpen(signal: AbortSignal): Promise<Connection> {
    const open = this.live[0];
    if (open !== undefined) return Promise.resolve(open);
    return this.latestOpening ?? this.open(signal);
  }

  /** Opens one connection with retries; rejects with the last error or `signal.reason`. */
  private open(signal: AbortSignal): Promise<Connection> {
    const opening = this.openWithRetries(signal).finally(() => {
      if (this.latestOpening === opening) this.latestOpening = undefined;
    });
    this.latestOpening = opening;
    return opening;
  }

  private async openWithRetries(signal: AbortSignal): Promise<Connection> {
    this.opening++;
    let socket: net.Socket;
    try {
      socket = await retryWithBackoff(() => this.connectSocket(signal), this.settings.backoff, signal, (error, attempt, delayMs) => {
        this.metrics?.retry(CONNECT_RETRY_REASON);
        this.owner.onRetry(this, attempt, delayMs, error as Error);
      });
    } catch (error) {
      this.opening--;
      if (!signal.aborted) this.owner.onGiveUp(this, error as Error);
      throw error;
    }
    this.opening--;
    // The pool may have closed while the last attempt was finishing.
    if (signal.aborted) {
      socket.destroy();
      throw signal.reason;
    }
    const connection = new Connection(socket, this.connectionSettings, this.ownerOf());
    this.live.push(connection);
    this.owner.onOpen(this, connection);
    return connection;
  }

  /** Every connection takes no more requests and closes once answered (the server is draining). */
  retire(): void {
    for (const connection of [...this.live]) connection.retire();
  }

  /** Closes every connection now; their requests in flight fail with `failure`. */
  close(reason: Error | undefined, failure?: FailureFactory): Promise<void> {
    const closing = this.live.map((connection) => connection.whenClosed);
    for (const connection of [...this.live]) connection.close(reason, failure);
    return Promise.all(closing).then(() => undefined);
  }

  /** Removes closed connections before the pool hears of them. */
  private ownerOf(): ConnectionOwner {
    return {
      onRoom: (connection) => this.owner.onRoom(connection),
      onUnavailable: (connection) => this.owner.onUnavailable(connection),
      onClose: (connection, error) => {
        const index = this.live.indexOf(connection);
        if (index !== -1) this.live.splice(index, 1);
        this.owner.onClose(connection, error);
      },
    };
  }

  /** One attempt: resolves with the socket once connected (and, with TLS, verified). */
  private connectSocket(signal: AbortSignal): Promise<net.Socket> {
    const { host, port, tls: tlsOptions, connectTimeoutMs } = this.settings;
    return new Promise((resolve, reject) => {
      const socket = tlsOptions ? tls.connect({ ...tlsOptions, host, port }) : net.connect({ host, port });
      const fail = (error: Error): void => {
        cleanup();
        socket.destroy();
        reject(error);
      };
      const onConnect = (): void => {
        cleanup();
        // Small request/answer exchanges: Nagle's delay would add latency to each.
        socket.setNoDelay(true);
        resolve(socket);
      };
      const onAbort = (): void => fail(signal.reason as Error);
      const timer =
        connectTimeoutMs === undefined
          ? undefined
          : setTimeout(() => fail(new Error(`connecting to ${this.address} took over ${connectTimeoutMs} ms`)), connectTimeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        socket.off('error', fail);
        socket.off(tlsOptions ? 'secureConnect' : 'connect', onConnect);
      };
      socket.once('error', fail);
      socket.once(tlsOptions ? 'secureConnect' : 'connect', onConnect);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}
