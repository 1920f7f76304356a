import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Logger } from '@nestjs/common';
import { type CustomTransportStrategy, type MessageHandler, Server } from '@nestjs/microservices';
import { ARRPC_RESERVED_PATTERN_PREFIX, ARRPC_TRANSPORT_ID } from '../constants.js';
import { LEARN_HANDLER_NAMES, type HandlerNameLearner, type PatternMethod } from '../metrics/handler-name-explorer.js';
import { openMetricsServer, type MetricsServerHandle } from '../metrics/metrics-server.js';
import { NOOP_SERVER_METRICS_RECORDER, type ServerMetricsRecorder } from '../metrics/recorder.js';
import { createServerMetricsRecorder } from '../metrics/server-recorder.js';
import { type ArrpcServerOptions, type ResolvedServerOptions, resolveServerOptions } from '../options/server-options.js';
import { MessageEncoder, SharedBudget } from '../protocol/index.js';
import { ConnectionHandler } from './connection-handler.js';
import { HandlerNames } from './handler-names.js';
import { MessageRouter } from './message-router.js';
import { ArrpcServerStatus, type ArrpcServerEvents } from './server-events.js';

type Listener = (...args: any[]) => void;

/** Nest's own wording when the server is asked for before `listen`. */
const NOT_LISTENING = 'Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.';

/**
 * arrpc as a Nest microservice transport: a Python `arrpc.Client` talks to
 * it as to a Python `arrpc.Server`, and this project's `ArrpcClient` reaches
 * any `@MessagePattern` / `@EventPattern` through the envelope of PROTOCOL.md.
 *
 * ```ts
 * const app = await NestFactory.createMicroservice(AppModule, {
 *   strategy: new ArrpcServer({ port: 8080, authSecret: process.env.ARRPC_SECRET }),
 * });
 * await app.listen();
 * ```
 */
export class ArrpcServer
  extends Server<ArrpcServerEvents, ArrpcServerStatus>
  implements CustomTransportStrategy, HandlerNameLearner
{
  override transportId = ARRPC_TRANSPORT_ID;
  protected override readonly logger = new Logger(ArrpcServer.name);
  private readonly options: ResolvedServerOptions;
  private readonly router: MessageRouter;
  /** The Prometheus recorder with `metrics: true`, else the no-op one. */
  private readonly recorder: ServerMetricsRecorder;
  /** `handler_func` by route, learnt from `ArrpcMetricsModule` at module init. */
  private readonly handlerNames = new HandlerNames(this.logger);
  private metricsServer: MetricsServerHandle | undefined;
  private readonly connections = new Set<ConnectionHandler>();
  /** Encodes every connection's answers (see ConnectionHandler). */
  private readonly encoder: MessageEncoder;
  /** `maxBufferedBytes`, drawn from by every connection's decoder; undefined when 0. */
  private readonly buffered: SharedBudget | undefined;
  /** The base class's start hook, which only calls `done`: requests skip the hook machinery while it is set. */
  private readonly defaultStartHook = this.onProcessingStartHook;
  private pendingListeners: [string, Listener][] = [];
  /** Set when created, so `on()` reaches it while it binds; unset again when `listen` fails. */
  private server: net.Server | undefined;
  /** Why `listen` failed, for `unwrap()`. */
  private listenFailure: unknown;
  /** `listen`'s work while it has not listened or failed yet; `close()` waits for it. */
  private starting: Promise<void> | undefined;
  private draining = false;
  private closing: Promise<void> | undefined;
  /** Called when the last connection is gone while draining. */
  private onDrained: (() => void) | undefined;

  /** Checks the options at once; a bad one throws a `TypeError` naming it. */
  constructor(options: ArrpcServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.encoder = new MessageEncoder({ maxDepth: this.options.maxDepth });
    const { maxBufferedBytes } = this.options;
    this.buffered = maxBufferedBytes === 0 ? undefined : new SharedBudget(maxBufferedBytes);
    const { metrics, registry, metricsHistogram, metricsMaxErrorReasons } = this.options;
    this.recorder = metrics
      ? createServerMetricsRecorder({ registry, histogram: metricsHistogram, maxErrorReasons: metricsMaxErrorReasons })
      : NOOP_SERVER_METRICS_RECORDER;
    this.router = new MessageRouter(
      {
        handlers: this.messageHandlers,
        isDraining: () => this.draining,
        handlerName: (route) => (this.recorder.enabled ? this.handlerNames.of(route) : ''),
        handleRequest: (context, produce, respond) => this.handleRequest(context, produce, respond),
        handleEvent: (route, packet, context) => this.handleEvent(route, packet, context),
        normalizePattern: (pattern) => this.normalizePattern(pattern),
        patternAsString: (pattern) => this.getPatternAsString(pattern),
        toObservable: (result) => this.transformToObservable(result),
        hasProcessingHooks: () => this.onProcessingStartHook !== this.defaultStartHook || this.onProcessingEndHook !== undefined,
      },
      this.options,
      this.logger,
    );
  }

  /**
   * Binds `host:port` (reading the TLS files first), then opens the `/metrics`
   * listener when `metrics` and `metricsPort` say so, then calls `callback()`;
   * calls `callback(error)` instead when a handler uses a reserved `arrpc.*`
   * pattern, a file cannot be read, or an address cannot be bound.
   */
  listen(callback: (error?: unknown) => void): void {
    this.starting = this.start().then(
      () => {
        this.starting = undefined;
        callback();
      },
      (error: unknown) => {
        this.starting = undefined;
        this.server = undefined;
        this.listenFailure = error;
        this._status$.next(ArrpcServerStatus.Disconnected);
        callback(error);
      },
    );
  }

  /**
   * Drains, then resolves (PROTOCOL.md "Closing a server"): stops listening;
   * requests already received are answered; envelopes arriving later are
   * answered `UnavailableException` without a handler, plain messages are
   * served. A connection that has carried envelopes (this project's client,
   * which moves to another server) is closed as soon as nothing is in flight
   * on it, at once when idle; a plain peer's stays open until the peer closes
   * it. Once every connection is gone and every handler finished, or at
   * `drainTimeoutMs`, running handlers are aborted and the sockets closed.
   * The standalone `/metrics` listener closes last. Called while `listen`
   * is still binding, it waits for the bind and closes what was bound, and
   * `listen` calls back with an error.
   */
  close(): Promise<void> {
    // Draining starts at once (status included) unless a bind is still pending.
    this.closing ??= (this.starting === undefined ? this.drain() : this.starting.then(() => this.drain())).then(() =>
      this.closeMetricsServer(),
    );
    return this.closing;
  }

  /**
   * The port the standalone `/metrics` listener is bound to (the one picked when
   * `metricsPort` is 0), once `listen` has opened it; undefined when there is none.
   */
  getMetricsPort(): number | undefined {
    return this.metricsServer?.port;
  }

  /** Registers a `net`/`tls` server listener; one registered before `listen` is kept for it. */
  on<EventKey extends keyof ArrpcServerEvents = keyof ArrpcServerEvents, EventCallback extends ArrpcServerEvents[EventKey] = ArrpcServerEvents[EventKey]>(
    event: EventKey,
    callback: EventCallback,
  ): void {
    if (this.server) this.server.on(event, callback as Listener);
    else this.pendingListeners.push([event, callback as Listener]);
  }

  /**
   * The `net.Server` (or `tls.Server`), from the moment `listen` creates it. Throws before
   * `listen` (Nest 12.1.1's TCP server creates its server in its constructor and returns it
   * unbound instead), and after a failed `listen`, saying why it failed.
   */
  unwrap<T = net.Server>(): T {
    if (this.server) return this.server as T;
    if (this.listenFailure !== undefined) throw new Error(`ArrpcServer did not listen: ${describeError(this.listenFailure)}`);
    throw new Error(NOT_LISTENING);
  }

  /** Looks a route this server computed up directly, sparing the base class's `JSON.parse` per event. */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  /**
   * Learns the method name behind each route, from the controllers' pattern metadata
   * `ArrpcMetricsModule` reads at module init. Not for application code: the module calls it.
   */
  [LEARN_HANDLER_NAMES](methods: readonly PatternMethod[]): void {
    this.handlerNames.learn(methods, this.transportId, (pattern) => this.normalizePattern(pattern));
  }

  private async start(): Promise<void> {
    this.refuseReservedPatterns();
    const server = await this.createServer();
    if (this.closing) throw new Error('ArrpcServer was closed before it listened');
    this.server = server;
    if (this.options.maxConnections > 0) server.maxConnections = this.options.maxConnections;
    for (const [event, callback] of this.pendingListeners) server.on(event, callback);
    this.pendingListeners = [];
    server.on('drop', (data) => {
      if (this.options.debug) this.logger.debug(`refused ${data?.remoteAddress}: ${server.maxConnections} connections open`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    if (this.closing) {
      // close() came during the bind and waits for this: nothing was accepted yet (that takes an I/O turn).
      server.close();
      throw new Error('ArrpcServer was closed before it listened');
    }
    server.on('error', (error) => this.logger.error(`server error: ${error.message}`, error.stack));
    await this.openMetricsServer(server);
    this._status$.next(ArrpcServerStatus.Connected);
    if (this.options.debug) this.logger.debug(`listening on ${describeAddress(server.address())}`);
  }

  /** Opens the standalone `/metrics` listener if asked for; stops listening again if it cannot. */
  private async openMetricsServer(server: net.Server): Promise<void> {
    const { metrics, metricsPort, registry } = this.options;
    if (!metrics || metricsPort === undefined) return;
    let handle: MetricsServerHandle;
    try {
      handle = await openMetricsServer({ port: metricsPort, registry });
    } catch (error) {
      server.close();
      this.server = undefined;
      throw error;
    }
    // close() may have begun meanwhile: it closes what is open when its drain ends.
    if (this.closing) {
      await handle.close();
      throw new Error('ArrpcServer was closed before it listened');
    }
    this.metricsServer = handle;
    if (this.options.debug) this.logger.debug(`serving metrics on port ${handle.port}`);
  }

  private async closeMetricsServer(): Promise<void> {
    const handle = this.metricsServer;
    this.metricsServer = undefined;
    await handle?.close();
  }

  /** Every `arrpc.*` pattern is the server's own (`arrpc.ping` and those to come). */
  private refuseReservedPatterns(): void {
    for (const route of this.messageHandlers.keys()) {
      if (route.startsWith(ARRPC_RESERVED_PATTERN_PREFIX)) {
        throw new Error(`ArrpcServer: the pattern "${route}" is reserved (every "${ARRPC_RESERVED_PATTERN_PREFIX}*" pattern is); register the handler under another one`);
      }
    }
  }

  private async createServer(): Promise<net.Server> {
    const accept = (socket: net.Socket): void => this.accept(socket);
    // allowHalfOpen: a peer that ends its side after writing still gets its answers.
    const socketOptions = { allowHalfOpen: true, noDelay: true };
    if (!this.options.useTls) return net.createServer(socketOptions, accept);
    const handshakeTimeout = this.options.tlsHandshakeTimeoutMs;
    const server = tls.createServer(
      { ...this.options.tls, ...(await this.readCertificateFiles()), ...socketOptions, handshakeTimeout },
      accept,
    );
    server.on('tlsClientError', (error, socket) => {
      if (this.options.debug) this.logger.debug(`TLS handshake failed: ${error.message}`);
      // Node only reports a handshake timeout (tls `handshakeTimeout`) here and leaves the socket open.
      socket.destroy();
    });
    return server;
  }

  private async readCertificateFiles(): Promise<tls.TlsOptions> {
    const { tlsCertFile, tlsKeyFile } = this.options;
    if (tlsCertFile === undefined || tlsKeyFile === undefined) return {};
    const [cert, key] = await Promise.all([readFile(tlsCertFile), readFile(tlsKeyFile)]);
    return { cert, key };
  }

  private accept(socket: net.Socket): void {
    const { useTls } = this.options;
    const metrics = this.recorder.enabled ? this.recorder.forConnection(socket.remoteAddress, useTls) : undefined;
    const connection = new ConnectionHandler(
      socket,
      useTls,
      this.router,
      this.options,
      this.logger,
      (done) => this.forget(done),
      this.encoder,
      this.buffered,
      metrics,
    );
    this.connections.add(connection);
  }

  private forget(connection: ConnectionHandler): void {
    this.connections.delete(connection);
    if (this.connections.size === 0) this.onDrained?.();
  }

  private async drain(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.draining = true;
    this._status$.next(ArrpcServerStatus.Draining);
    server.close();
    for (const connection of this.connections) connection.drain();
    if (this.connections.size > 0) await this.drainedOrDeadline();
    for (const connection of this.connections) connection.terminate();
    this.connections.clear();
    this._status$.next(ArrpcServerStatus.Disconnected);
  }

  private drainedOrDeadline(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.logger.warn(`drain deadline (${this.options.drainTimeoutMs} ms): closing ${this.connections.size} connection(s)`);
        resolve();
      }, this.options.drainTimeoutMs);
      this.onDrained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function describeAddress(address: net.AddressInfo | string | null): string {
  return address !== null && typeof address === 'object' ? `${address.address}:${address.port}` : String(address);
}
