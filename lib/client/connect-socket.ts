import * as net from 'node:net';
import * as tls from 'node:tls';

/** Where and how to open one socket. */
export interface SocketTarget {
  readonly host: string;
  readonly port: number;
  /** `tls.connect` options; `undefined` for plain TCP. */
  readonly tls: tls.ConnectionOptions | undefined;
  /** Bounds the attempt, in ms; `undefined` for no bound. */
  readonly timeoutMs: number | undefined;
}

/**
 * One connection attempt: resolves with the socket once connected (and, with TLS, verified);
 * rejects with the socket's error, a timeout, or `signal.reason`.
 */
export function connectSocket(target: SocketTarget, signal: AbortSignal): Promise<net.Socket> {
  const { host, port, tls: tlsOptions, timeoutMs } = target;
  return new Promise((resolve, reject) => {
    const socket = tlsOptions ? tls.connect({ ...tlsOptions, host, port }) : net.connect({ host, port });
    const connectEvent = tlsOptions ? 'secureConnect' : 'connect';
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
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => fail(new Error(`connecting to ${formatAddress(host, port)} took over ${timeoutMs} ms`)), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.off('error', fail);
      socket.off(connectEvent, onConnect);
    };
    socket.once('error', fail);
    socket.once(connectEvent, onConnect);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** `host:port`, with an IPv6 address in brackets (`[::1]:4000`). */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
