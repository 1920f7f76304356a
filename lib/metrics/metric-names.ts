/**
 * Names, HELP texts and label names of every arrpc metric. The first six are the Python
 * reference's (`../shared/arrpc-wire/metrics-*.txt`), letter for letter, so existing dashboards
 * and alerts keep working; the others are additions, off unless asked for.
 */
export const ARRPC_METRIC_NAMES = Object.freeze({
  /** Summary (`_count`, `_sum`): seconds spent handling each request. */
  serverReqSeconds: 'arrpc_server_req_seconds',
  /** Summary (`_count`, `_sum`): bytes of each request as received, envelope included. */
  serverReqBytes: 'arrpc_server_req_bytes',
  /** Counter: failed requests, by `reason`. */
  serverErrors: 'arrpc_server_errors_total',
  /** Summary (`_count`, `_sum`): seconds from a call to its outcome, per request written. */
  clientReqSeconds: 'arrpc_client_req_seconds',
  /** Summary (`_count`, `_sum`): bytes of each request as written, envelope included. */
  clientReqBytes: 'arrpc_client_req_bytes',
  /** Counter: failed requests, by `reason`. */
  clientErrors: 'arrpc_client_errors_total',
  /** Counter, beyond the reference: attempts made again (`connect`: connection attempts), by `reason`. */
  clientRetries: 'arrpc_client_retries_total',
  /** Histogram, beyond the reference and opt-in: server latency by `pattern`. */
  serverReqDurationSeconds: 'arrpc_server_req_duration_seconds',
  /** Histogram, beyond the reference and opt-in: client latency by `pattern`. */
  clientReqDurationSeconds: 'arrpc_client_req_duration_seconds',
  /**
   * Counter, beyond the reference: verified requests by the `secret` they were signed with, its
   * position in `authSecret` (`"0"` the current one), so a rotation shows when `"1"` goes quiet.
   */
  serverAuthSecretRequests: 'arrpc_server_auth_secret_requests_total',
} as const);

/** One of {@link ARRPC_METRIC_NAMES}. */
export type ArrpcMetricName = (typeof ARRPC_METRIC_NAMES)[keyof typeof ARRPC_METRIC_NAMES];

/** HELP texts, the reference's where it has one. */
export const METRIC_HELP: Readonly<Record<ArrpcMetricName, string>> = Object.freeze({
  arrpc_server_req_seconds: 'Time spent handling server requests',
  arrpc_server_req_bytes: 'Size of server requests in bytes',
  arrpc_server_errors_total: 'RPC server errors',
  arrpc_client_req_seconds: 'Time spent making client requests',
  arrpc_client_req_bytes: 'Size of client requests in bytes',
  arrpc_client_errors_total: 'RPC client errors',
  arrpc_client_retries_total: 'RPC client retries',
  arrpc_server_req_duration_seconds: 'Time spent handling server requests, by pattern',
  arrpc_client_req_duration_seconds: 'Time spent making client requests, by pattern',
  arrpc_server_auth_secret_requests_total: 'Verified server requests, by position of the secret they were signed with',
});

// Label names in the reference's order (alphabetical), so our lines read like its lines. The
// recorders pass label values positionally in exactly these orders.

/** Labels of the server summaries. */
export const SERVER_REQUEST_LABELS = [
  'handler_func',
  'hostname',
  'k8s_namespace',
  'remote_address',
  'signed_payload',
  'tls',
] as const;

/** Labels of the server error counter. */
export const SERVER_ERROR_LABELS = [
  'handler_func',
  'hostname',
  'k8s_namespace',
  'reason',
  'remote_address',
  'signed_payload',
  'tls',
] as const;

/**
 * Labels of the server histogram. No `remote_address`: a server's peers are every client pod
 * there is, and each one would multiply the bucket series.
 */
export const SERVER_HISTOGRAM_LABELS = [
  'handler_func',
  'hostname',
  'k8s_namespace',
  'pattern',
  'signed_payload',
  'tls',
] as const;

/** Labels of the server's secret counter: few series, one per peer and secret in use. */
export const SERVER_SECRET_LABELS = ['hostname', 'k8s_namespace', 'remote_address', 'secret', 'tls'] as const;

/** Labels of the client summaries. */
export const CLIENT_REQUEST_LABELS = [
  'hostname',
  'k8s_namespace',
  'remote_address',
  'signed_payload',
  'tls',
] as const;

/** Labels of the client error and retry counters. */
export const CLIENT_ERROR_LABELS = [
  'hostname',
  'k8s_namespace',
  'reason',
  'remote_address',
  'signed_payload',
  'tls',
] as const;

/** Labels of the client histogram: a client's endpoints are the configured few, so they stay. */
export const CLIENT_HISTOGRAM_LABELS = [
  'hostname',
  'k8s_namespace',
  'pattern',
  'remote_address',
  'signed_payload',
  'tls',
] as const;

/** How the reference writes a boolean label value (Python's `str(bool)`). */
export function pythonBool(value: boolean): 'True' | 'False' {
  return value ? 'True' : 'False';
}
