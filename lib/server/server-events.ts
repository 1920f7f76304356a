import type { DropArgument, Socket } from 'node:net';
import { ArrpcStatus } from '../constants.js';

/**
 * What `ArrpcServer.status` emits. `connected` once listening (the name Nest's
 * TCP server uses), `draining` from the moment `close()` begins until the last
 * connection is gone, then `disconnected`. An `as const` object, not a
 * `const enum`, so `isolatedModules` consumers can use it.
 */
export const ArrpcServerStatus = {
  Connected: ArrpcStatus.Connected,
  Draining: 'draining',
  Disconnected: ArrpcStatus.Disconnected,
} as const;

export type ArrpcServerStatus = (typeof ArrpcServerStatus)[keyof typeof ArrpcServerStatus];

/** Names of the `net`/`tls` server events `ArrpcServer.on()` registers. */
export const ArrpcServerEvent = {
  Listening: 'listening',
  Connection: 'connection',
  /** A connection closed on arrival because `maxConnections` were open. */
  Drop: 'drop',
  Error: 'error',
  Close: 'close',
  /** A TLS handshake failed (a client without an accepted certificate, say). */
  TlsClientError: 'tlsClientError',
} as const;

export type ArrpcServerEvent = (typeof ArrpcServerEvent)[keyof typeof ArrpcServerEvent];

/** Listener signatures of {@link ArrpcServerEvent}, as Node's `net`/`tls` servers call them. */
export type ArrpcServerEvents = {
  listening: () => void;
  connection: (socket: Socket) => void;
  drop: (data?: DropArgument) => void;
  error: (error: Error) => void;
  close: () => void;
  tlsClientError: (error: Error, socket: Socket) => void;
};
