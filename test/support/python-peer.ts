// A stand-in for a Python arrpc 0.5.0 server (PROTOCOL.md part 1), so client tests can meet the
// reference's reading rule, silences and closes without a Python process. @msgpack/msgpack is
// the codec on purpose: it is independent of the codec under test.
import { createHmac } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { decode, decodeMulti, encode, ExtData, ExtensionCodec } from '@msgpack/msgpack';
import { freeServerClose, listen } from './sockets.js';

/** The reference reads with `recv(4096)` until a read returns fewer bytes: the message ends there. */
export const PYTHON_RECV_SIZE = 4096;

/** What the reference answers when a signed server gets a bad or missing signature. */
export const PYTHON_AUTH_ERROR =
  "arrpc.error.AuthException: Invalid or missing message signature, make sure 'auth_secret' is set/correct";

/** Thrown by a peer handler: answered as `arrpc.error.RpcException: <message>`, as the reference does. */
export class PeerRpcException extends Error {
  override name = 'RpcException';
}

/** Handles one decoded message; may be async. Throwing anything but {@link PeerRpcException} closes the connection unanswered. */
export type PeerHandler = (value: unknown) => unknown;

/**
 * The handler the vectors were captured with: `{raise: msg}` raises RpcException(msg),
 * `{return: x}` returns x, `{crash: ...}` raises a plain error; anything else is echoed.
 */
export function replayHandler(value: unknown): unknown {
  if (!isMap(value)) return value;
  if ('raise' in value) throw new PeerRpcException(String(value['raise']));
  if ('return' in value) return value['return'];
  if ('crash' in value) throw new Error('crash requested');
  return value;
}

/** Options of {@link startPythonPeer}. */
export interface PythonPeerOptions {
  /** Shared secret: requests must be signed envelopes, as with the reference's `auth_secret`. */
  readonly authSecret?: string;
  /** Defaults to {@link replayHandler}. */
  readonly handler?: PeerHandler;
  /** Wait this long (ms) after a message is complete before handling it; default 0. */
  readonly delayMs?: number;
  /** Serve TLS with these options (the reference's `tls_certfile` / `tls_keyfile`). */
  readonly tls?: tls.TlsOptions;
}

/** A running peer on 127.0.0.1. */
export interface PythonPeer {
  readonly port: number;
  /** Every message as the reference would have read it (bytes up to a short read), in arrival order. */
  readonly requests: Buffer[];
  /** Highest number of requests seen in flight on one connection; above 1 means the client pipelined. */
  readonly maxInFlight: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

// Timestamps (ext -1) stay raw ExtData so they are echoed byte for byte, as Python echoes its
// Timestamp; map keys follow Python's strict_map_key (str or bytes only; int keys fail decoding).
const extensionCodec = new ExtensionCodec();
extensionCodec.register({ type: -1, encode: () => null, decode: (data, type) => new ExtData(type, data) });
const DECODE_OPTIONS = {
  extensionCodec,
  useBigInt64: true,
  mapKeyConverter: (key: unknown): string => {
    if (typeof key === 'string') return key;
    if (key instanceof Uint8Array) return Buffer.from(key).toString('utf8');
    throw new Error(`map key of type ${typeof key}`);
  },
} as const;
const ENCODE_OPTIONS = { extensionCodec, useBigInt64: true } as const;

/** Starts a peer on 127.0.0.1, port 0. */
export async function startPythonPeer(options: PythonPeerOptions = {}): Promise<PythonPeer> {
  const sockets = new Set<net.Socket>();
  const state = { requests: [] as Buffer[], maxInFlight: 0, connections: 0 };
  const onSocket = (socket: net.Socket): void => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    serveConnection(socket, options, state);
  };
  // allowHalfOpen: a client that half-closes still gets its answer, as from the reference.
  const server = options.tls
    ? tls.createServer({ ...options.tls, allowHalfOpen: true }, onSocket)
    : net.createServer({ allowHalfOpen: true }, onSocket);
  server.on('tlsClientError', () => {});
  const port = await listen(server);
  return {
    port,
    requests: state.requests,
    get maxInFlight() {
      return state.maxInFlight;
    },
    get connections() {
      return state.connections;
    },
    close: () => freeServerClose(server, sockets),
  };
}

type PeerState = { requests: Buffer[]; maxInFlight: number };

function serveConnection(socket: net.Socket, options: PythonPeerOptions, state: PeerState): void {
  let chunks: Buffer[] = [];
  let size = 0;
  let busy = false;
  let peerEnded = false;
  const noteInFlight = (n: number): void => {
    state.maxInFlight = Math.max(state.maxInFlight, n);
  };
  // Python blocks in recv() while a full 4096-byte read may be followed by more, and does not
  // read at all while it handles a message; bytes arriving meanwhile form the next message.
  const pump = async (): Promise<void> => {
    while (!busy && size > 0 && (size % PYTHON_RECV_SIZE !== 0 || peerEnded) && !socket.destroyed) {
      const message = Buffer.concat(chunks, size);
      chunks = [];
      size = 0;
      busy = true;
      try {
        state.requests.push(message);
        await handleMessage(message, socket, options, noteInFlight);
      } finally {
        busy = false;
      }
    }
    if (peerEnded && !busy && size === 0 && !socket.destroyed) socket.end();
  };
  // Anything unexpected (a handler result msgpack cannot encode) ends the connection, as an
  // uncaught exception ends a reference connection, instead of an unhandled rejection.
  const run = (): void => void pump().catch(() => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    // A request is in flight from receipt until its answer is written.
    if (busy) noteInFlight(2);
    run();
  });
  socket.on('end', () => {
    peerEnded = true;
    run();
  });
  socket.on('error', () => {});
}

async function handleMessage(
  message: Buffer,
  socket: net.Socket,
  options: PythonPeerOptions,
  noteInFlight: (n: number) => void,
): Promise<void> {
  if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
  let value: unknown;
  try {
    value = decode(message, DECODE_OPTIONS);
  } catch {
    // Not exactly one value (e.g. two requests in one read): no answer, connection kept.
    noteInFlight(countValues(message));
    return;
  }
  noteInFlight(1);
  // The reference skips falsy messages before looking at signatures (assumed: no vector
  // combines a falsy message with a secret).
  if (isPythonFalsy(value)) return;
  let valueBytes: Uint8Array = message;
  if (options.authSecret !== undefined) {
    const verified = verifyEnvelope(value, options.authSecret);
    if (verified === 'auth-error') return void socket.write(encode(PYTHON_AUTH_ERROR));
    if (verified === 'drop') return void socket.destroy();
    ({ value, bytes: valueBytes } = verified);
  }
  let result: unknown;
  try {
    result = await (options.handler ?? replayHandler)(value);
  } catch (err) {
    if (err instanceof PeerRpcException) return void socket.write(encode(`arrpc.error.RpcException: ${err.message}`));
    return void socket.destroy();
  }
  if (socket.destroyed) return;
  // An echo answers the value's own bytes: Python re-encodes a Python client's canonical bytes
  // identically, while @msgpack/msgpack would turn a float 2.0 into the int 2.
  socket.write(result === value ? valueBytes : encode(result, ENCODE_OPTIONS));
}

/** The reference's check: not a map with both keys, or another HMAC -> AuthException; `data`
 *  that HMAC cannot take (anything but bin or nil) raises in Python and drops the connection. */
function verifyEnvelope(value: unknown, secret: string): { value: unknown; bytes: Uint8Array } | 'auth-error' | 'drop' {
  if (!isMap(value) || !('arrpc.sign' in value) || !('data' in value)) return 'auth-error';
  const data = value['data'];
  if (data !== null && !(data instanceof Uint8Array)) return 'drop';
  const signature = createHmac('sha256', secret).update(data ?? new Uint8Array()).digest('hex');
  if (signature !== value['arrpc.sign']) return 'auth-error';
  const bytes = data ?? new Uint8Array();
  try {
    return { value: decode(bytes, DECODE_OPTIONS), bytes };
  } catch {
    return 'drop';
  }
}

function countValues(bytes: Uint8Array): number {
  let count = 0;
  try {
    for (const _ of decodeMulti(bytes, DECODE_OPTIONS)) count++;
  } catch {
    // The count so far is the answer: the rest is incomplete or not msgpack.
  }
  return count;
}

/** Python truthiness of a decoded value: None, False, 0, 0.0, "", b"", [], {} are falsy; NaN is not. */
function isPythonFalsy(value: unknown): boolean {
  if (value === null || value === false || value === 0 || value === 0n || value === '') return true;
  if (Array.isArray(value) || value instanceof Uint8Array) return value.length === 0;
  return isMap(value) && Object.keys(value).length === 0;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) && !(value instanceof ExtData);
}
