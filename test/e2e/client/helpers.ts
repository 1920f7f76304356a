// Shared pieces of the client e2e suite: resources closed after each test, outcome capture, and
// the vector helpers the client checks need.
import * as http from 'node:http';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { afterEach } from 'vitest';
import { ArrpcClient, type ArrpcClientOptions } from '../../../lib/index.js';
import type { PeerHandler } from '../../support/python-peer.js';
import { freeServerClose, listen } from '../../support/sockets.js';

/** Something a test opened and must close. */
interface Closable {
  close(): unknown;
}

/**
 * Returns `track(resource)`, which closes `resource` after the current test (latest first), so
 * every server, peer and client a test opens is closed even when it fails.
 */
export function useCleanup(): <T extends Closable>(resource: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const resource of open.splice(0).reverse()) await resource.close();
  });
  return (resource) => {
    open.push(resource);
    return resource;
  };
}

/** A client closed after the test, with a test-sized back-off unless `options` says otherwise. */
export function clientFactory(track: ReturnType<typeof useCleanup>) {
  return (options: ArrpcClientOptions): ArrpcClient => track(new ArrpcClient({ retryBaseMs: 10, ...options }));
}

/** What a promise ended with, for assertions on either outcome. */
export type Outcome = { value: unknown } | { error: unknown };

export async function outcomeOf(promise: Promise<unknown>): Promise<Outcome> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error };
  }
}

/** The rejection of `promise`; fails the test when it resolves. */
export async function errorOf(promise: Promise<unknown>): Promise<any> {
  const outcome = await outcomeOf(promise);
  if ('value' in outcome) throw new Error(`expected a rejection, got ${String(outcome.value)}`);
  return outcome.error;
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A Python peer handler that echoes, after `delay` ms when the message is `{ delay, ... }`. */
export const delayedEcho: PeerHandler = async (value) => {
  const delay = (value as { delay?: number } | null)?.delay;
  if (delay) await sleep(delay);
  return value;
};

/** A server that answers each chunk it reads with bytes of the test's choosing (small requests only). */
export interface ScriptedServer {
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * Starts a server on 127.0.0.1 that answers every chunk it receives with `answer(chunk, n)` (n
 * counts chunks per server), for answers no well-behaved encoder writes (int map keys, stray bytes).
 */
export function startScriptedServer(
  answer: (request: Buffer, n: number) => Buffer,
  /** Called after each answer is written, to play a server that writes on its own as well. */
  afterAnswer?: (socket: net.Socket, n: number) => void,
): Promise<ScriptedServer> {
  let n = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      const current = n++;
      socket.write(answer(chunk, current));
      afterAnswer?.(socket, current);
    });
  });
  return listenTracked(server);
}

/** A server on 127.0.0.1 that echoes each chunk (a Python server echoing small messages), on `port` when given. */
export function startEchoServer(port = 0): Promise<ScriptedServer> {
  const server = net.createServer((socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => {});
  });
  return listenTracked(server, port);
}

/**
 * A TLS server on 127.0.0.1 that echoes each chunk, as a Python arrpc server echoes small
 * messages. Unlike test/support/python-peer.ts it tracks sockets from the TCP accept on, so
 * `close()` also ends connections whose handshake the client abandoned (a refused certificate).
 */
export function startTlsEchoServer(options: tls.TlsOptions): Promise<ScriptedServer> {
  const server = tls.createServer(options, (socket) => {
    socket.on('data', (chunk) => socket.write(chunk));
    socket.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  return listenTracked(server);
}

/**
 * A plain node:http server on 127.0.0.1: what a client meets when it is given the wrong port.
 * Its answer to MessagePack bytes is `HTTP/1.1 400 Bad Request`, every byte of which is ASCII,
 * so a MessagePack reader sees a run of positive fixints.
 */
export function startHttpServer(): Promise<ScriptedServer> {
  return listenTracked(http.createServer((_request, response) => response.end('ok')));
}

/** Listens on 127.0.0.1, counting TCP accepts and keeping their sockets, which `close()` ends. */
async function listenTracked(server: net.Server, port = 0): Promise<ScriptedServer> {
  const sockets = new Set<net.Socket>();
  let connections = 0;
  server.on('connection', (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listening = await listen(server, '127.0.0.1', port);
  return {
    port: listening,
    get connections() {
      return connections;
    },
    close: () => freeServerClose(server, sockets),
  };
}
