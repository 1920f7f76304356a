import type { ConnectionOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import {
  DEFAULT_CLIENT_HOST,
  DEFAULT_CON_MAX_RETRIES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  DEFAULT_PEER,
  DEFAULT_PIPELINE,
  DEFAULT_POOL_SIZE,
  DEFAULT_RETRY_BASE_MS,
} from '../constants.js';
import type { ArrpcMetricsHistogramOptions } from '../metrics/metrics-options.js';

/**
 * What the client talks to. `'python'`: a Python arrpc server, which reads one
 * request at a time and cannot see a message whose length is a multiple of
 * 4096 bytes. `'nestjs-arrpc'`: this project's `ArrpcServer`, which can take
 * several requests in flight per connection.
 */
export type ArrpcPeer = 'python' | 'nestjs-arrpc';

/** Options of `ArrpcClient`. Every field is optional except `port`. */
export interface ArrpcClientOptions {
  /** Server host name or IP address. Defaults to `'127.0.0.1'` ({@link DEFAULT_CLIENT_HOST}). */
  host?: string;
  /** Server TCP port, 1 to 65535. Required: there is no default, and 0 is refused. */
  port?: number;
  /**
   * Longest time, in milliseconds, a call waits for its answer, counted from
   * the call (connecting and queueing included). Passed to an `ArrpcServer`
   * as the request's deadline. Also bounds each connection attempt. Defaults to
   * none: a call waits as long as the connection lives, as in Python. 0 is
   * refused; at most 2^31−1 (about 24.8 days).
   */
  timeout?: number;
  /**
   * Connection attempts before calls fail with `ConnectException`, as
   * Python's `con_max_retries`. Defaults to 5 ({@link DEFAULT_CON_MAX_RETRIES}).
   * 0 is refused: at least one attempt is needed.
   */
  conMaxRetries?: number;
  /**
   * Back-off base in milliseconds: after the n-th failed attempt the client
   * waits n times this before the next. Defaults to 1000 ({@link DEFAULT_RETRY_BASE_MS}),
   * which waits 1 s, 2 s, 3 s... as Python. 0 retries at once.
   */
  retryBaseMs?: number;
  /**
   * Shared secret: every message is signed with HMAC-SHA256, as Python's
   * `auth_secret`. Answers are never signed. Defaults to none (unsigned); an empty string is refused.
   */
  authSecret?: string;
  /** Path of a PEM file of CA certificates to verify the server with; turns TLS on. Defaults to none. */
  tlsCaFile?: string;
  /**
   * With `tlsCaFile` holding the server's own self-signed certificate: the
   * server must present exactly one of the certificates in that file (chain
   * checked against it, host name not checked). Unlike Python's
   * `tls_self_signed`, verification is never turned off: any other
   * certificate is refused. Defaults to false; requires `tlsCaFile`.
   */
  tlsSelfSigned?: boolean;
  /**
   * Node TLS options passed to `tls.connect` (client certificate and key for
   * mutual TLS, `servername`, ciphers...); turns TLS on. `tlsCaFile` replaces
   * its `ca`. Defaults to none.
   */
  tls?: ConnectionOptions;
  /** Connections kept to the server. Defaults to 1 ({@link DEFAULT_POOL_SIZE}); 0 is refused. */
  poolSize?: number;
  /**
   * Requests in flight on one connection. Defaults to 1 ({@link DEFAULT_PIPELINE}),
   * which Python servers need: more than 1 requires `peer: 'nestjs-arrpc'`. 0 is refused.
   */
  pipeline?: number;
  /** The kind of server, see {@link ArrpcPeer}. Defaults to `'python'` ({@link DEFAULT_PEER}). */
  peer?: ArrpcPeer;
  /**
   * Largest answer accepted, in bytes; a larger one fails its call with
   * `InvalidResponseException` and the connection is replaced. Defaults to
   * 16 MiB ({@link DEFAULT_MAX_MESSAGE_BYTES}); 0 is refused.
   */
  maxMessageBytes?: number;
  /** Logs connections, retries and protocol surprises at debug level. Defaults to false. */
  debug?: boolean;
  /**
   * Records the reference's Prometheus metrics (`arrpc_client_req_seconds`,
   * `arrpc_client_req_bytes`, `arrpc_client_errors_total`) and `arrpc_client_retries_total`
   * into {@link registry}. Defaults to false: nothing is recorded or timed.
   */
  metrics?: boolean;
  /**
   * Port of a standalone HTTP listener serving {@link registry} at `/metrics`, for a
   * microservice with no HTTP side; 0 picks a free one (read it from
   * `client.getMetricsPort()`). Opens at `connect()` or the first call, only with
   * `metrics: true`, on every interface, and closes with `close()`; servers and clients of
   * one process given the same port share one listener. `ARRPC_METRICS_PORT` (9095) is the
   * reference's port. Defaults to none: no listener (a hybrid app serves `/metrics` with
   * `ArrpcMetricsModule`).
   */
  metricsPort?: number;
  /**
   * The prom-client registry recorded into (and served on {@link metricsPort}). Defaults to
   * prom-client's global `register`, the one `PrometheusModule` and `ArrpcMetricsModule` serve.
   */
  registry?: Registry;
  /**
   * Beyond the reference: also record latency in the histogram
   * `arrpc_client_req_duration_seconds`, with a `pattern` label. `true` uses
   * `DEFAULT_METRICS_HISTOGRAM_BUCKETS` (0.5 ms to 10 s); `{ buckets }` gives yours, in
   * seconds, strictly increasing. Defaults to false.
   */
  metricsHistogram?: boolean | ArrpcMetricsHistogramOptions;
  /**
   * Beyond the reference: distinct `reason` values `arrpc_client_errors_total` (and
   * `arrpc_client_retries_total`) keeps; past them a new reason is counted as `other`. 0 counts
   * every reason as `other`. Defaults to {@link DEFAULT_METRICS_MAX_ERROR_REASONS} (100).
   */
  metricsMaxErrorReasons?: number;
}

/** {@link ArrpcClientOptions} with every default filled in, frozen. */
export interface ResolvedClientOptions {
  readonly host: string;
  readonly port: number;
  readonly timeout: number | undefined;
  readonly conMaxRetries: number;
  readonly retryBaseMs: number;
  readonly authSecret: string | undefined;
  readonly tlsCaFile: string | undefined;
  readonly tlsSelfSigned: boolean;
  readonly tls: ConnectionOptions | undefined;
  readonly poolSize: number;
  readonly pipeline: number;
  readonly peer: ArrpcPeer;
  readonly maxMessageBytes: number;
  readonly debug: boolean;
  readonly metrics: boolean;
  readonly metricsPort: number | undefined;
  readonly registry: Registry | undefined;
  readonly metricsHistogram: boolean | Readonly<ArrpcMetricsHistogramOptions>;
  readonly metricsMaxErrorReasons: number;
}

/** Longest timeout, in ms, a Node timer can wait (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

const PEERS: readonly ArrpcPeer[] = ['python', 'nestjs-arrpc'];
const KNOWN_OPTIONS = new Set<string>([
  'host', 'port', 'timeout', 'conMaxRetries', 'retryBaseMs', 'authSecret', 'tlsCaFile',
  'tlsSelfSigned', 'tls', 'poolSize', 'pipeline', 'peer', 'maxMessageBytes', 'debug', 'metrics', 'metricsPort',
  'registry', 'metricsHistogram', 'metricsMaxErrorReasons',
]);

/**
 * Checks `options` and fills in the defaults. Throws a `TypeError` naming the
 * option and the bad value (never the secret's value).
 */
export function resolveClientOptions(options: ArrpcClientOptions | undefined): ResolvedClientOptions {
  const given: ArrpcClientOptions = options ?? {};
  for (const key of Object.keys(given)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`Unknown ArrpcClient option "${key}"`);
  }
  const peer = given.peer ?? DEFAULT_PEER;
  if (!PEERS.includes(peer)) throw invalid('peer', `'python' or 'nestjs-arrpc'`, peer);
  const pipeline = integer('pipeline', given.pipeline ?? DEFAULT_PIPELINE, 1);
  if (peer === 'python' && pipeline > 1) {
    throw new TypeError(
      `Invalid ArrpcClient option "pipeline": ${pipeline} needs peer 'nestjs-arrpc'; a Python server reads one request at a time`,
    );
  }
  if (given.port === undefined) throw new TypeError('ArrpcClient option "port" is required');
  const tlsSelfSigned = boolean('tlsSelfSigned', given.tlsSelfSigned ?? false);
  if (tlsSelfSigned && given.tlsCaFile === undefined) {
    throw new TypeError('ArrpcClient option "tlsSelfSigned" needs "tlsCaFile": the certificate to trust');
  }
  return Object.freeze({
    host: text('host', given.host ?? DEFAULT_CLIENT_HOST),
    port: integer('port', given.port, 1, 65_535),
    timeout: given.timeout === undefined ? undefined : positive('timeout', given.timeout),
    conMaxRetries: integer('conMaxRetries', given.conMaxRetries ?? DEFAULT_CON_MAX_RETRIES, 1),
    retryBaseMs: nonNegative('retryBaseMs', given.retryBaseMs ?? DEFAULT_RETRY_BASE_MS),
    authSecret: given.authSecret === undefined ? undefined : secret(given.authSecret),
    tlsCaFile: given.tlsCaFile === undefined ? undefined : text('tlsCaFile', given.tlsCaFile),
    tlsSelfSigned,
    tls: given.tls === undefined ? undefined : object('tls', given.tls),
    poolSize: integer('poolSize', given.poolSize ?? DEFAULT_POOL_SIZE, 1),
    pipeline,
    peer,
    maxMessageBytes: integer('maxMessageBytes', given.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 1),
    debug: boolean('debug', given.debug ?? false),
    metrics: boolean('metrics', given.metrics ?? false),
    metricsPort: given.metricsPort === undefined ? undefined : integer('metricsPort', given.metricsPort, 0, 65_535),
    registry: given.registry === undefined ? undefined : registry(given.registry),
    metricsHistogram: histogram(given.metricsHistogram ?? false),
    metricsMaxErrorReasons: integer('metricsMaxErrorReasons', given.metricsMaxErrorReasons ?? DEFAULT_METRICS_MAX_ERROR_REASONS, 0),
  });
}

function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(name, `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`, value);
  }
  return value as number;
}

function positive(name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMEOUT_MS)) {
    throw invalid(name, `a number of milliseconds above 0, at most ${MAX_TIMEOUT_MS} (leave it unset for none)`, value);
  }
  return value;
}

function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(name, 'a finite number of milliseconds, 0 or more', value);
  }
  return value;
}

function text(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw invalid(name, 'a non-empty string', value);
  return value;
}

function secret(value: unknown): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`Invalid ArrpcClient option "authSecret": expected a non-empty string, got ${typeof value === 'string' ? 'an empty string' : typeof value}`);
  }
  return value;
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(name, 'true or false', value);
  return value;
}

function object<T>(name: string, value: T): T {
  if (value === null || typeof value !== 'object') throw invalid(name, 'an object', value);
  return value;
}

function registry(value: unknown): Registry {
  if (value === null || typeof value !== 'object' || typeof (value as Registry).getSingleMetric !== 'function') {
    throw invalid('registry', 'a prom-client Registry', value);
  }
  return value as Registry;
}

function histogram(value: unknown): boolean | Readonly<ArrpcMetricsHistogramOptions> {
  if (typeof value === 'boolean') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('metricsHistogram', 'a boolean or { buckets }', value);
  }
  const buckets: unknown = (value as ArrpcMetricsHistogramOptions).buckets;
  if (buckets === undefined) return Object.freeze({});
  const increasing =
    Array.isArray(buckets) &&
    buckets.length > 0 &&
    buckets.every((b: unknown, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > buckets[i - 1]));
  if (!increasing) throw invalid('metricsHistogram.buckets', 'a non-empty array of finite, strictly increasing numbers', buckets);
  return Object.freeze({ buckets: Object.freeze([...(buckets as number[])]) });
}

function invalid(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Invalid ArrpcClient option "${name}": expected ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
