import { RpcException } from '@nestjs/microservices';
import { AUTH_FAILURE_MESSAGE, RemoteErrorKind, formatRemoteError, formatRpcError } from '../protocol/index.js';

/** Nest's `NO_MESSAGE_HANDLER` text, which `@nestjs/microservices` does not export. */
export const NO_HANDLER_MESSAGE = 'There is no matching message handler defined in the remote service.';

/** Nest's `NO_EVENT_HANDLER` text (before its `Event pattern: ...`), logged for an event nobody handles. */
export const NO_EVENT_HANDLER_MESSAGE = 'There is no matching event handler defined in the remote service.';

/** Nest's text for an unexpected error: nothing about the error itself reaches the peer. */
export const INTERNAL_ERROR_MESSAGE = 'Internal server error';

/** The answers the server writes without a handler; built once. */
export const FixedAnswer = {
  auth: formatRemoteError(RemoteErrorKind.Auth, AUTH_FAILURE_MESSAGE),
  noHandler: formatRpcError(NO_HANDLER_MESSAGE),
  internal: formatRpcError(INTERNAL_ERROR_MESSAGE),
  draining: formatRemoteError(RemoteErrorKind.Unavailable, 'server is draining'),
  deadline: formatRemoteError(RemoteErrorKind.Timeout, 'deadline exceeded before the handler started'),
} as const;

/**
 * The message of an error answer this server wrote (`arrpc.error.<Kind>: <message>`): the
 * metrics' `reason`, as the reference records the error's message.
 */
export function errorReason(answer: string): string {
  return answer.slice(answer.indexOf(': ') + 2);
}

/** The answer to a complete value the protocol refuses; the connection stays usable. */
export function invalidMessageAnswer(reason: string): string {
  return formatRpcError(`invalid message: ${reason}`);
}

/**
 * The answer for what a request's response stream failed with.
 *
 * Behind Nest's exception filters a handler's `RpcException('msg')` arrives
 * as `{ status: 'error', message: 'msg' }`, an object one as its object, and
 * any other error as `{ status: 'error', message: 'Internal server error' }`
 * (Nest logged it already). A handler added with `addHandler` directly, with
 * no filters in between, throws the errors themselves. `logUnexpected` gets
 * every error that becomes `Internal server error` here.
 */
export function errorAnswer(error: unknown, logUnexpected: (error: unknown) => void): string {
  if (error instanceof RpcException) return rpcAnswer(error.getError(), logUnexpected);
  if (error instanceof Error) {
    logUnexpected(error);
    return FixedAnswer.internal;
  }
  return rpcAnswer(isFilterOutput(error) ? error.message : error, logUnexpected);
}

function rpcAnswer(error: unknown, logUnexpected: (error: unknown) => void): string {
  if (typeof error === 'string') return formatRpcError(error);
  if (error === null || typeof error !== 'object') return formatRpcError(String(error));
  try {
    return formatRpcError(error);
  } catch (cause) {
    // JSON.stringify threw (a bigint, a cycle): the error cannot be told, so it is logged.
    logUnexpected(cause);
    return FixedAnswer.internal;
  }
}

/** Exactly what Nest's `BaseRpcExceptionFilter` makes of a string error. */
function isFilterOutput(error: unknown): error is { status: 'error'; message: unknown } {
  if (error === null || typeof error !== 'object') return false;
  const record = error as Record<string, unknown>;
  return record['status'] === 'error' && 'message' in record && Object.keys(record).length === 2;
}
