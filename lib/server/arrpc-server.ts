import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Logger } from '@nestjs/common';
import { type CustomTransportStrategy, type MessageHandler, type MsPattern, Server } from '@nestjs/microservices';
import { ARRPC_RESERVED_PATTERN_PREFIX, ARRPC_TRANSPORT_ID } from '../constants.js';
import { LEARN_HANDLER_NAMES, type HandlerNameLearner, type PatternMethod } from '../metrics/handler-name-explorer.js';
import { openMetricsServer, type MetricsServerHandle } from '../metrics/metrics-server.js';
import { NOOP_SERVER_METRICS_RECORDER, type ServerMetricsRecorder } from '../metrics/recorder.js';
import { createServerMetricsRecorder } from '../metrics/server-recorder.js';
import { type ArrpcServerOptions, type ResolvedServerOptions, resolveServerOptions } from '../options/server-options.js';
import { MessageEncoder } from '../protocol/index.js';
import { ConnectionHandler } from './connection-handler.js';
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
  /** `handler_func` by route, learnt from `ArrpcMetricsModule` at module init; undefined until then. */
  private handlerNames: ReadonlyMap<string, string> | undefined;
  /** Routes already warned about having no method name ('' once none could be: no names learnt). */
  private readonly unnamedRoutes = new Set<string>();
  private metricsServer: MetricsServerHandle | undefined;
  private readonly connections = new Set<ConnectionHandler>();
  /** Encodes every connection's answers (see ConnectionHandler). */
  private readonly encoder: MessageEncoder;
  /** The base class's start hook, which only calls `done`: requests skip the hook machinery while it is set. */
  private readonly defaultStartHook = this.onProcessingStartHook;
  private pendingListeners: [string, Listener][] = [];
  private server: net.Server | undefined;
  private draining = false;
  private closing: Promise<void> | undefined;
  /** Called when the last connection is gone while draining. */
  private onDrained: (() => void) | undefined;

  /** Checks the options at once; a bad one throws a `TypeError` naming it. */
  constructor(options: ArrpcServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.encoder = new MessageEncoder({ maxDepth: this.options.maxDepth });
    const { metrics, registry, metricsHistogram, metricsMaxErrorReasons } = this.options;
    this.recorder = metrics
      ? createServerMetricsRecorder({ registry, histogram: metricsHistogram, maxErrorReasons: metricsMaxErrorReasons })
      : NOOP_SERVER_METRICS_RECORDER;
    this.router = new MessageRouter(
      {
        handlers: this.messageHandlers,
        isDraining: () => this.draining,
        handlerName: (route) => this.handlerName(route),
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
    this.start().then(
      () => callback(),
      (error: unknown) => {
        this._status$.next(ArrpcServerStatus.Disconnected);
        callback(error);
      },
    );
  }

  /**
   * Drains, then resolves (PROTOCOL.md "Closing a server"): stops listening;
   * requests already received are answered; envelopes arriving later are
   * answered `UnavailableException` without a handler, plain messages are
   * served; once every peer has closed and every handler finished, or at
   * `drainTimeoutMs`, running handlers are aborted and the sockets closed.
   * The standalone `/metrics` listener closes last.
   */
  close(): Promise<void> {
    this.closing ??= this.drain().then(() => this.closeMetricsServer());
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

  /** The `net.Server` (or `tls.Server`); throws before `listen`, as Nest's TCP server does. */
  unwrap<T = net.Server>(): T {
    if (!this.server) throw new Error(NOT_LISTENING);
    return this.server as T;
  }

  /** Looks a route this server computed up directly, sparing the base class's `JSON.parse` per event. */
  override getHandlerByPattern(pattern: string): MessageHandler | null {
    return this.messageHandlers.get(pattern) ?? super.getHandlerByPattern(pattern);
  }

  /**
   * Learns the method name behind each route, from the controllers' pattern metadata
   * `ArrpcMetricsModule` reads at module init. Patterns are keyed as `addHandler` keys them,
   * and the first method of a route names it, as the first `@EventPattern` listener heads
   * Nest's chain. Not for application code: the module calls it.
   */
  [LEARN_HANDLER_NAMES](methods: readonly PatternMethod[]): void {
    const names = new Map<string, string>();
    for (const { pattern, transport, name } of methods) {
      // Nest's own filter: a handler for another transport is not registered here.
      if (transport !== undefined && transport !== this.transportId) continue;
      const route = this.normalizePattern(pattern as MsPattern);
      if (!names.has(route)) names.set(route, name);
    }
    this.handlerNames = names;
  }

  /**
   * The `handler_func` of a route with a handler: its method's name, or the route itself where
   * no method is known, so its requests stay apart from other handlers'; a warning says why.
   */
  private handlerName(route: string): string {
    if (!this.recorder.enabled) return '';
    const name = this.handlerNames?.get(route);
    if (name !== undefined) return name;
    this.warnUnnamed(route);
    return route;
  }

  /** Once for the server while no names are learnt; then once per route no method has. */
  private warnUnnamed(route: string): void {
    const key = this.handlerNames === undefined ? '' : route;
    if (this.unnamedRoutes.has(key)) return;
    this.unnamedRoutes.add(key);
    this.logger.warn(
      key === ''
        ? `metrics: handler_func is each handler's pattern: no method names learnt (import ArrpcMetricsModule.forRoot() in the app; a hybrid app learns them at init)`
        : `metrics: handler_func is the pattern "${route}": no controller method has it (a handler added with addHandler)`,
    );
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
    const server = tls.createServer({ ...this.options.tls, ...(await this.readCertificateFiles()), ...socketOptions }, accept);
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

function describeAddress(address: net.AddressInfo | string | null): string {
  return address !== null && typeof address === 'object' ? `${address.address}:${address.port}` : String(address);
}
