import { RpcException } from '@nestjs/microservices';
import { RemoteErrorKind, type ArrpcProtocolError, type RemoteError } from '../protocol/index.js';

/** Stable codes of the errors a client call ends with. Match on these, never on messages. */
export const ArrpcErrorCode = {
  /** The server refused the signature (`arrpc.error.AuthException`). */
  Auth: 'ARRPC_ERR_AUTH',
  /** The handler raised `RpcException` (`arrpc.error.RpcException`). */
  Remote: 'ARRPC_ERR_REMOTE',
  /** No connection after every attempt. */
  Connect: 'ARRPC_ERR_CONNECT',
  /** The caller's time ran out, or the server's deadline passed before the handler started. */
  Timeout: 'ARRPC_ERR_TIMEOUT',
  /** The server is draining: the request never ran. */
  Unavailable: 'ARRPC_ERR_UNAVAILABLE',
  /** The connection broke after the request was written: it may have run. */
  ConnectionLost: 'ARRPC_ERR_CONNECTION_LOST',
  /** The caller cancelled (AbortSignal, or unsubscribed). */
  Cancelled: 'ARRPC_ERR_CANCELLED',
  /** `close()` was called before the answer came. */
  ClientClosed: 'ARRPC_ERR_CLIENT_CLOSED',
  /** The answer was not valid MessagePack, or over `maxMessageBytes`. */
  InvalidResponse: 'ARRPC_ERR_INVALID_RESPONSE',
  /** `maxQueued` calls already waited for a connection: the call was not sent. */
  QueueFull: 'ARRPC_ERR_QUEUE_FULL',
  /** The request was not written: the peer could never read a message of its length. */
  Unsendable: 'ARRPC_ERR_UNSENDABLE',
} as const;

export type ArrpcErrorCode = (typeof ArrpcErrorCode)[keyof typeof ArrpcErrorCode];

/** Where a failed call was going. */
export interface ArrpcErrorContext {
  /** The pattern the caller used; absent for failures of `connect()` itself. */
  readonly pattern?: unknown;
  /** The server, as `host:port`. */
  readonly endpoint: string;
}

/**
 * Base of every error an `ArrpcClient` call ends with. It is Nest's
 * `RpcException`, so exception filters catch it; `code` tells the cases apart.
 */
export abstract class ArrpcException extends RpcException {
  abstract readonly code: ArrpcErrorCode;
  /** The pattern of the failed call, when there was one. */
  readonly pattern: unknown;
  /** The server, as `host:port`. */
  readonly endpoint: string;

  constructor(error: string | object, context: ArrpcErrorContext, cause?: unknown) {
    super(error);
    this.pattern = context.pattern;
    this.endpoint = context.endpoint;
    if (cause !== undefined) this.cause = cause;
  }
}

/** The server refused the message signature: `authSecret` is missing or differs. Python: `AuthException`. */
export class AuthException extends ArrpcException {
  override readonly name = 'AuthException';
  readonly code = ArrpcErrorCode.Auth;
}

/**
 * The handler raised `RpcException`. `getError()` gives its message, or the
 * object when the server sent a JSON object. Python: `RpcException`.
 */
export class RemoteRpcException extends ArrpcException {
  override readonly name = 'RemoteRpcException';
  readonly code = ArrpcErrorCode.Remote;

  constructor(remote: RemoteError, context: ArrpcErrorContext) {
    super(remote.error, context);
    // The text as the server wrote it, also when `getError()` is an object.
    this.message = remote.message;
  }
}

/** One server a call tried to reach, in a {@link ConnectException}. */
export interface ArrpcConnectAttempt {
  /** The server, as `host:port`. */
  readonly endpoint: string;
  /** Connection attempts made for the call (0 when none was made). */
  readonly attempts: number;
  /** Why no attempt was made (`'ejected'`, say), when `attempts` is 0. */
  readonly skipped?: string;
}

/**
 * No connection after `attempts` tries. Python: `ConnectException`, same message
 * (`Failed to connect to HOST:PORT with N attempts`) when one server was tried;
 * with several, the message lists each (`tried` holds them).
 */
export class ConnectException extends ArrpcException {
  override readonly name = 'ConnectException';
  readonly code = ArrpcErrorCode.Connect;
  /** Every server tried, in order; one entry, `endpoint` with `attempts`, when the call had one server. */
  readonly tried: readonly ArrpcConnectAttempt[];

  constructor(
    context: ArrpcErrorContext,
    /** Connection attempts made, over every server tried. */
    readonly attempts: number,
    cause?: unknown,
    tried?: readonly ArrpcConnectAttempt[],
  ) {
    const list = tried ?? [{ endpoint: context.endpoint, attempts }];
    super(`Failed to connect to ${list.map(describeAttempt).join(', ')}`, context, cause);
    this.tried = list;
  }
}

function describeAttempt(attempt: ArrpcConnectAttempt): string {
  return attempt.skipped === undefined ? `${attempt.endpoint} with ${attempt.attempts} attempts` : `${attempt.endpoint} (${attempt.skipped})`;
}

/**
 * The call took longer than its timeout ("Timed out", as Python's
 * `RpcTimeoutException`; "Timed out while connecting to HOST:PORT (last:
 * ECONNREFUSED)" when the time ran out while the client was still connecting,
 * with the last connection error as `cause`), or, with `remote` true, the
 * server's deadline passed before the handler started (the server's message).
 */
export class RpcTimeoutException extends ArrpcException {
  override readonly name = 'RpcTimeoutException';
  readonly code = ArrpcErrorCode.Timeout;
  /** True when the server, not this client, reported the deadline. */
  readonly remote: boolean;

  constructor(
    context: ArrpcErrorContext,
    /** The timeout that passed, in ms; absent for a remote deadline. */
    readonly timeoutMs?: number,
    /** The server's message when the server reported the deadline. */
    remoteMessage?: string,
    /** Set when the time ran out while connecting, with the latest failed attempt's error, if any. */
    connecting?: { readonly lastError: Error | undefined },
  ) {
    super(remoteMessage ?? (connecting ? whileConnecting(context.endpoint, connecting.lastError) : 'Timed out'), context, connecting?.lastError);
    this.remote = remoteMessage !== undefined;
  }
}

/** The message of a timeout that ran out while connecting to `endpoint`. */
function whileConnecting(endpoint: string, lastError: Error | undefined): string {
  const last = lastError === undefined ? '' : ` (last: ${(lastError as NodeJS.ErrnoException).code ?? lastError.message})`;
  return `Timed out while connecting to ${endpoint}${last}`;
}

/** The server is draining and did not run the request; its connections were closed. */
export class UnavailableException extends ArrpcException {
  override readonly name = 'UnavailableException';
  readonly code = ArrpcErrorCode.Unavailable;
}

/**
 * The connection broke after the request was written (the server crashed or
 * closed, or the answer of a request given up ahead of it on the connection
 * never came): it may have run, so it is not sent again, unless its pattern is
 * in `idempotentPatterns`. Python returns `None` when the server drops the
 * connection.
 */
export class ConnectionLostException extends ArrpcException {
  override readonly name = 'ConnectionLostException';
  readonly code = ArrpcErrorCode.ConnectionLost;

  constructor(context: ArrpcErrorContext, cause?: unknown) {
    super(`Connection to ${context.endpoint} lost after the request was written; it may have run`, context, cause);
  }
}

/**
 * The caller cancelled the call. A written request's answer is dropped when it comes; its
 * connection is closed (and replaced) only when no other request waits on it.
 */
export class CancelledException extends ArrpcException {
  override readonly name = 'CancelledException';
  readonly code = ArrpcErrorCode.Cancelled;

  constructor(context: ArrpcErrorContext, cause?: unknown) {
    super('Cancelled', context, cause);
  }
}

/** `close()` was called while the call was queued or in flight, or the client is closed. */
export class ClientClosedException extends ArrpcException {
  override readonly name = 'ClientClosedException';
  readonly code = ArrpcErrorCode.ClientClosed;

  constructor(context: ArrpcErrorContext) {
    super('The client was closed', context);
  }
}

/**
 * `maxQueued` calls already waited for a connection with room (the servers are slow, or
 * unreachable and retried): this one failed at once and was not sent. Retrying it later may
 * succeed.
 */
export class QueueFullException extends ArrpcException {
  override readonly name = 'QueueFullException';
  readonly code = ArrpcErrorCode.QueueFull;

  constructor(
    context: ArrpcErrorContext,
    /** The `maxQueued` option that was reached. */
    readonly maxQueued: number,
  ) {
    super(`${maxQueued} calls already wait for a connection (maxQueued)`, context);
  }
}

/** The answer was not valid MessagePack, not a value the protocol accepts, or over `maxMessageBytes`. */
export class InvalidResponseException extends ArrpcException {
  override readonly name = 'InvalidResponseException';
  readonly code = ArrpcErrorCode.InvalidResponse;

  constructor(context: ArrpcErrorContext, cause: Error) {
    super(`Invalid response from ${context.endpoint}: ${cause.message}`, context, cause);
  }
}

/**
 * The request was not written: toward a Python peer (`peer: 'python'`) its encoded length is a
 * multiple of 4096 bytes and no MessagePack header in it has a larger form to widen into (a bare
 * str, bin or ext of that length), so the reference would wait for more bytes and never answer.
 * A byte more or less of data sends it. `cause` is the `ArrpcProtocolError` (`ARRPC_ERR_UNREADABLE_LENGTH`).
 */
export class UnsendableRequestException extends ArrpcException {
  override readonly name = 'UnsendableRequestException';
  readonly code = ArrpcErrorCode.Unsendable;
  /** The request's length in bytes, as it would have been written. */
  readonly bytes: number;

  constructor(context: ArrpcErrorContext, cause: ArrpcProtocolError) {
    super(`Request to ${context.endpoint} not sent: ${cause.message}`, context, cause);
    this.bytes = cause.value ?? 0;
  }
}

/** The exception for an error answer (`arrpc.error.<Kind>: ...`). */
export function createRemoteException(remote: RemoteError, context: ArrpcErrorContext): ArrpcException {
  switch (remote.kind) {
    case RemoteErrorKind.Auth:
      return new AuthException(remote.message, context);
    case RemoteErrorKind.Rpc:
      return new RemoteRpcException(remote, context);
    case RemoteErrorKind.Unavailable:
      return new UnavailableException(remote.message, context);
    case RemoteErrorKind.Timeout:
      return new RpcTimeoutException(context, undefined, remote.message);
  }
}
