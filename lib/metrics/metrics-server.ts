import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { register, type Registry } from 'prom-client';
import { ARRPC_METRICS_PATH } from '../constants.js';
import { optionChecks } from '../options/option-checks.js';

/** Where the standalone `/metrics` listener listens and what it serves. */
export interface MetricsServerOptions {
  /**
   * TCP port; 0 picks a free one. Everyone in the process asking for the same port (or for the
   * port a 0 was given) shares one listener, which closes when the last of them closes.
   */
  readonly port: number;
  /** The registry served. Defaults to prom-client's global `register`. */
  readonly registry?: Registry | undefined;
  /** Address to bind. Defaults to every interface, as the reference's metrics server. */
  readonly host?: string | undefined;
}

/** One user's share of a listener. */
export interface MetricsServerHandle {
  /** The port listened on (the one picked, when 0 was asked for). */
  readonly port: number;
  /** Gives this share back; the listener closes with the last one. Calling it again does nothing. */
  close(): Promise<void>;
}

interface SharedListener {
  readonly server: Server;
  readonly registry: Registry;
  readonly host: string | undefined;
  readonly listening: Promise<number>;
  users: number;
  port: number;
}

const logger = new Logger('ArrpcMetrics');
const check = optionChecks('metrics server');
/** Listeners by port: the asked-for one, and the one bound. */
const listeners = new Map<number, SharedListener>();
/** Listeners still closing, by port: a new one on that port waits for them. */
const closing = new Map<number, Promise<void>>();

/**
 * Opens (or joins) the standalone HTTP listener that serves `registry.metrics()` at `/metrics`,
 * for a pure microservice that has no HTTP side of its own. Rejects when the port cannot be
 * bound, or when it is already served here for another registry or host.
 */
export async function openMetricsServer(options: MetricsServerOptions): Promise<MetricsServerHandle> {
  const { port, host } = options;
  const registry = options.registry ?? register;
  check.integer('port', port, 0, 65_535);
  let listener = port === 0 ? undefined : listeners.get(port);
  if (listener === undefined) {
    await closing.get(port);
    listener = port === 0 ? undefined : listeners.get(port); // joined while we waited
  }
  if (listener === undefined) {
    listener = startListener(port, registry, host);
  } else {
    if (listener.registry !== registry || listener.host !== host) {
      throw new Error(
        `Metrics port ${port} is already served in this process for another prom-client registry or host: ` +
          'give every server and client sharing a metrics port the same registry and host',
      );
    }
    listener.users += 1;
  }
  const shared = listener;
  const boundPort = await shared.listening;
  let closed = false;
  return {
    port: boundPort,
    close: async () => {
      if (closed) return;
      closed = true;
      await release(shared);
    },
  };
}

function startListener(port: number, registry: Registry, host: string | undefined): SharedListener {
  const server = createServer((req, res) => void serve(registry, req, res));
  const listening = new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      // Past listen(), an error must not crash the process over a metrics endpoint.
      server.on('error', (error) => logger.error(`metrics listener: ${error.message}`));
      resolve((server.address() as AddressInfo).port);
    });
  });
  const listener: SharedListener = { server, registry, host, listening, users: 1, port };
  if (port !== 0) listeners.set(port, listener);
  listening.then(
    (bound) => {
      listener.port = bound;
      listeners.set(bound, listener);
    },
    () => forget(listener),
  );
  return listener;
}

async function release(listener: SharedListener): Promise<void> {
  listener.users -= 1;
  if (listener.users > 0) return;
  forget(listener);
  const closed = new Promise<void>((resolve) => {
    listener.server.close(() => resolve());
    // Scrapers keep connections alive; close() alone would wait for them.
    listener.server.closeAllConnections();
  });
  closing.set(listener.port, closed);
  await closed;
  if (closing.get(listener.port) === closed) closing.delete(listener.port);
}

function forget(listener: SharedListener): void {
  for (const [port, entry] of listeners) if (entry === listener) listeners.delete(port);
}

async function serve(registry: Registry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?', 1)[0];
  if (path !== ARRPC_METRICS_PATH) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`Not found: metrics are at ${ARRPC_METRICS_PATH}\n`);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('Method not allowed\n');
    return;
  }
  try {
    const body = await registry.metrics();
    res.writeHead(200, { 'Content-Type': registry.contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch (error) {
    logger.error(`collecting metrics failed: ${(error as Error).message}`);
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Collecting metrics failed\n');
  }
}
