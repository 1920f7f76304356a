// Attribute names from OpenTelemetry's RPC and general semantic conventions.
import type { Attributes, Span } from '@opentelemetry/api';
import type { Otel } from './otel-api.js';

/** `rpc.system`'s value for arrpc calls. */
const RPC_SYSTEM = 'arrpc';

const ATTR_RPC_SYSTEM = 'rpc.system';
/** `rpc.system`'s name in the newer RPC conventions; both are written. */
const ATTR_RPC_SYSTEM_NAME = 'rpc.system.name';
const ATTR_RPC_METHOD = 'rpc.method';
const ATTR_RPC_STATUS_CODE = 'rpc.response.status_code';
export const ATTR_SERVER_ADDRESS = 'server.address';
export const ATTR_SERVER_PORT = 'server.port';
export const ATTR_PEER_ADDRESS = 'network.peer.address';
export const ATTR_PEER_PORT = 'network.peer.port';
const ATTR_ERROR_TYPE = 'error.type';

/** The attributes every arrpc span starts with; `method` is the pattern as text. */
export function rpcAttributes(method: string): Attributes {
  return { [ATTR_RPC_SYSTEM]: RPC_SYSTEM, [ATTR_RPC_SYSTEM_NAME]: RPC_SYSTEM, [ATTR_RPC_METHOD]: method };
}

/** What a failed call or handler is recorded with. */
export interface SpanFailure {
  /** The error's class name: `error.type`. */
  readonly type: string;
  /** Its stable code (`ARRPC_ERR_...`), when it has one: `rpc.response.status_code`. */
  readonly code: string | undefined;
  readonly message: string;
}

/**
 * Marks `span` failed: ERROR status, `error.type`, the code, and an exception event for `error`
 * (the failure's type and message when there is no error object to tell more).
 */
export function recordFailure(api: Otel, span: Span, failure: SpanFailure, error?: Error): void {
  span.setStatus({ code: api.SpanStatusCode.ERROR, message: failure.message });
  span.setAttribute(ATTR_ERROR_TYPE, failure.type);
  if (failure.code !== undefined) span.setAttribute(ATTR_RPC_STATUS_CODE, failure.code);
  span.recordException(error ?? { name: failure.type, message: failure.message });
}
