import type { TlsOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS,
  DECODED_COST_PER_MESSAGE_BYTE,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_CONCURRENT_PER_CONNECTION,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
} from '../constants.js';
import type { ArrpcMetricsHistogramOptions } from '../metrics/metrics-options.js';
import { areHistogramBuckets } from './histogram-buckets.js';

/** What {@link ArrpcServerOptions.resolvePattern} picks from a plain message. */
export interface ArrpcResolvedPattern {
  /** The handler's pattern: a str, or a map normalised as Nest normalises object patterns. */
  readonly pattern: string | Record<string, unknown>;
  /** What the handler receives as its payload. */
  readonly data: unknown;
}

/**
 * Picks pattern and payload from a plain message (what a Python client sends),
 * for peers that put a command name in a field. `undefined` sends the whole
 * message to the `ARRPC_DEFAULT_PATTERN` handler. A throw answers
 * `Internal server error` and is logged.
 */
export type ArrpcPatternResolver = (message: unknown) => ArrpcResolvedPattern | undefined;

/** Options of `new ArrpcServer(options)`. Every field is optional. */
export interface ArrpcServerOptions {
  /** Address to bind. Defaults to {@link DEFAULT_SERVER_HOST} ('127.0.0.1', loopback only); '0.0.0.0' serves every interface. */
  host?: string;
  /** TCP port to bind, 0 to 65535. Defaults to {@link DEFAULT_SERVER_PORT}: 0, a free port the OS picks. */
  port?: number;
  /**
   * Shared secret (Python `auth_secret`): every message must then be signed
   * with HMAC-SHA256 of it, or is answered with the AuthException string and
   * reaches no handler. Defaults to none: messages are not checked. An empty
   * string is refused, so a missing environment variable cannot silently turn
   * authentication off.
   */
  authSecret?: string;
  /** Path of the PEM certificate (Python `tls_certfile`), read by `listen()`. Needs {@link tlsKeyFile}. Turns TLS on. */
  tlsCertFile?: string;
  /** Path of the PEM private key (Python `tls_keyfile`), read by `listen()`. Needs {@link tlsCertFile}. */
  tlsKeyFile?: string;
  /**
   * Node TLS server options, passed to `tls.createServer` as they are: in-memory
   * `cert`/`key`, and `requestCert` with `ca` for mutual TLS (Node then refuses
   * clients without a certificate from `ca`). Turns TLS on. The certificate
   * and key read from {@link tlsCertFile}/{@link tlsKeyFile} replace `cert`/`key` here.
   * Defaults to none: plain TCP, unless the file options are given.
   */
  tls?: TlsOptions;
  /** Logs connections, messages (pattern and size), answers and closes through Nest's `Logger` at debug level. Never the secret or payloads. Defaults to false. */
  debug?: boolean;
  /** Chooses pattern and payload of plain messages. Defaults to none: they all go to the `ARRPC_DEFAULT_PATTERN` handler. */
  resolvePattern?: ArrpcPatternResolver;
  /** Largest message in bytes, envelope included; a larger one closes its connection. At least 1. Defaults to {@link DEFAULT_MAX_MESSAGE_BYTES} (16 MiB). */
  maxMessageBytes?: number;
  /**
   * What messages still arriving may hold at once, over every connection of this server, in
   * bytes plus the decoder's per-value charges (about the memory their values take; see
   * `DECODED_COST_PER_MESSAGE_BYTE`). A connection whose partial message would pass it is
   * closed like one over {@link maxMessageBytes}; the others are unaffected. Messages that
   * arrive whole in one read are not counted. 0 = no shared limit. Otherwise at least
   * {@link maxMessageBytes}. Defaults to {@link DEFAULT_MAX_BUFFERED_BYTES} (128 MiB), or what
   * one message may cost (`DECODED_COST_PER_MESSAGE_BYTE` x `maxMessageBytes`) when that is more.
   */
  maxBufferedBytes?: number;
  /** Deepest nesting of arrays and maps in a message or answer; deeper closes the connection. At least 1. Defaults to {@link DEFAULT_MAX_DEPTH} (100). */
  maxDepth?: number;
  /** Connections held at once; one more is closed on arrival, served ones are unaffected. 0 = no limit. Defaults to {@link DEFAULT_MAX_CONNECTIONS} (10,000). */
  maxConnections?: number;
  /**
   * Milliseconds a message may take from its first byte to its last; a
   * connection that takes longer is closed (after earlier answers are sent).
   * 0 = no limit. Defaults to {@link DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS} (30 s).
   */
  incompleteMessageTimeoutMs?: number;
  /**
   * Milliseconds a connection with no message arriving and none being handled
   * may stay open before the server closes it. 0 = forever. Defaults to
   * {@link DEFAULT_IDLE_TIMEOUT_MS}: 0, because a Python client keeps one
   * connection for its lifetime and reads a close as a `None` answer.
   */
  idleTimeoutMs?: number;
  /**
   * Handlers one connection may have running at once, requests and events
   * alike; further messages wait, and the connection is not read while this
   * many answers are pending. At least 1. Defaults to
   * {@link DEFAULT_MAX_CONCURRENT_PER_CONNECTION} (64).
   */
  maxConcurrentPerConnection?: number;
  /**
   * Milliseconds `close()` waits for open connections to be closed by their
   * peers and running handlers to finish; then handlers get their abort
   * signal and every socket is closed. 0 = no wait. Defaults to
   * {@link DEFAULT_DRAIN_TIMEOUT_MS} (10 s).
   */
  drainTimeoutMs?: number;
  /**
   * Records the reference's Prometheus metrics (`arrpc_server_req_seconds`,
   * `arrpc_server_req_bytes`, `arrpc_server_errors_total`) into {@link registry}.
   * Defaults to false: nothing is recorded or timed.
   */
  metrics?: boolean;
  /**
   * Port of a standalone HTTP listener serving {@link registry} at `/metrics`, for a
   * microservice with no HTTP side; 0 picks a free one (read it from
   * `server.getMetricsPort()`). Opens at `listen()` only with `metrics: true`, on every
   * interface, and closes with the server; servers and clients of one process given the
   * same port share one listener. `ARRPC_METRICS_PORT` (9095) is the reference's port.
   * Defaults to none: no listener (a hybrid app serves `/metrics` with `ArrpcMetricsModule`).
   */
  metricsPort?: number;
  /**
   * The prom-client registry recorded into (and served on {@link metricsPort}). Defaults to
   * prom-client's global `register`, the one `PrometheusModule` and `ArrpcMetricsModule` serve.
   */
  registry?: Registry;
  /**
   * Beyond the reference: also record latency in the histogram
   * `arrpc_server_req_duration_seconds`, with a `pattern` label. `true` uses
   * `DEFAULT_METRICS_HISTOGRAM_BUCKETS` (0.5 ms to 10 s); `{ buckets }` gives yours, in
   * seconds, strictly increasing. Defaults to false.
   */
  metricsHistogram?: boolean | ArrpcMetricsHistogramOptions;
  /**
   * Beyond the reference: distinct `reason` values `arrpc_server_errors_total` keeps; past
   * them a new reason is counted as `other`. 0 counts every reason as `other`. Defaults to
   * {@link DEFAULT_METRICS_MAX_ERROR_REASONS} (100).
   */
  metricsMaxErrorReasons?: number;
}

/** {@link ArrpcServerOptions} with every default filled in, frozen. */
export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly authSecret: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly tls: Readonly<TlsOptions> | undefined;
  /** True when TLS is on, by `tls` or the file options. */
  readonly useTls: boolean;
  readonly debug: boolean;
  readonly resolvePattern: ArrpcPatternResolver | undefined;
  readonly maxMessageBytes: number;
  /** 0 when there is no shared limit. */
  readonly maxBufferedBytes: number;
  readonly maxDepth: number;
  readonly maxConnections: number;
  readonly incompleteMessageTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxConcurrentPerConnection: number;
  readonly drainTimeoutMs: number;
  readonly metrics: boolean;
  readonly metricsPort: number | undefined;
  readonly registry: Registry | undefined;
  readonly metricsHistogram: boolean | Readonly<ArrpcMetricsHistogramOptions>;
  readonly metricsMaxErrorReasons: number;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof ArrpcServerOptions>([
  'host', 'port', 'authSecret', 'tlsCertFile', 'tlsKeyFile', 'tls', 'debug', 'resolvePattern',
  'maxMessageBytes', 'maxBufferedBytes', 'maxDepth', 'maxConnections', 'incompleteMessageTimeoutMs', 'idleTimeoutMs',
  'maxConcurrentPerConnection', 'drainTimeoutMs', 'metrics', 'metricsPort', 'registry', 'metricsHistogram',
  'metricsMaxErrorReasons',
]);

/** setTimeout's largest delay; a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks `options` once and fills in the defaults. Throws a `TypeError` naming
 * the option and the bad value (never the secret's value); unknown keys are
 * refused too, so a misspelt `authSecret` cannot silently turn signing off.
 */
export function resolveServerOptions(options: ArrpcServerOptions = {}): ResolvedServerOptions {
  if (options === null || typeof options !== 'object') throw invalid('', options, 'an object');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new TypeError(`ArrpcServerOptions: unknown option "${key}"`);
  }
  const tlsCertFile = optionalString(options, 'tlsCertFile');
  const tlsKeyFile = optionalString(options, 'tlsKeyFile');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new TypeError('ArrpcServerOptions: tlsCertFile and tlsKeyFile must be given together');
  }
  const tls = tlsOptions(options.tls, tlsCertFile !== undefined);
  const maxMessageBytes = integer(options, 'maxMessageBytes', DEFAULT_MAX_MESSAGE_BYTES, 1);
  return Object.freeze({
    host: optionalString(options, 'host') ?? DEFAULT_SERVER_HOST,
    port: integer(options, 'port', DEFAULT_SERVER_PORT, 0, 65_535),
    authSecret: secret(options.authSecret),
    tlsCertFile,
    tlsKeyFile,
    tls,
    useTls: tls !== undefined || tlsCertFile !== undefined,
    debug: boolean(options, 'debug'),
    resolvePattern: resolver(options.resolvePattern),
    maxMessageBytes,
    maxBufferedBytes: bufferedBytes(options, maxMessageBytes),
    maxDepth: integer(options, 'maxDepth', DEFAULT_MAX_DEPTH, 1),
    maxConnections: integer(options, 'maxConnections', DEFAULT_MAX_CONNECTIONS, 0),
    incompleteMessageTimeoutMs: integer(options, 'incompleteMessageTimeoutMs', DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS, 0, MAX_TIMER_MS),
    idleTimeoutMs: integer(options, 'idleTimeoutMs', DEFAULT_IDLE_TIMEOUT_MS, 0, MAX_TIMER_MS),
    maxConcurrentPerConnection: integer(options, 'maxConcurrentPerConnection', DEFAULT_MAX_CONCURRENT_PER_CONNECTION, 1),
    drainTimeoutMs: integer(options, 'drainTimeoutMs', DEFAULT_DRAIN_TIMEOUT_MS, 0, MAX_TIMER_MS),
    metrics: boolean(options, 'metrics'),
    metricsPort: options.metricsPort === undefined ? undefined : integer(options, 'metricsPort', 0, 0, 65_535),
    registry: registry(options.registry),
    metricsHistogram: histogram(options.metricsHistogram),
    metricsMaxErrorReasons: integer(options, 'metricsMaxErrorReasons', DEFAULT_METRICS_MAX_ERROR_REASONS, 0),
  });
}

type Key = keyof ArrpcServerOptions;

function integer(options: ArrpcServerOptions, key: Key, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw invalid(key, value, `an integer ${range}`);
  }
  return value;
}

/** `maxBufferedBytes`: 0, or room for at least one message of `maxMessageBytes`. */
function bufferedBytes(options: ArrpcServerOptions, maxMessageBytes: number): number {
  const fallback = Math.max(DEFAULT_MAX_BUFFERED_BYTES, maxMessageBytes * DECODED_COST_PER_MESSAGE_BYTE);
  const value = integer(options, 'maxBufferedBytes', fallback, 0);
  if (value !== 0 && value < maxMessageBytes) {
    throw invalid('maxBufferedBytes', value, `0 or at least maxMessageBytes (${maxMessageBytes})`);
  }
  return value;
}

function optionalString(options: ArrpcServerOptions, key: Key): string | undefined {
  const value = options[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(key, value, 'a non-empty string');
  return value;
}

function boolean(options: ArrpcServerOptions, key: Key): boolean {
  const value = options[key] ?? false;
  if (typeof value !== 'boolean') throw invalid(key, value, 'a boolean');
  return value;
}

function secret(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') {
    // The value itself is never printed: it may be a real secret of the wrong type.
    throw new TypeError(`ArrpcServerOptions.authSecret must be a non-empty string, got ${kindOf(value)}`);
  }
  return value;
}

function resolver(value: unknown): ArrpcPatternResolver | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalid('resolvePattern', value, 'a function');
  return value as ArrpcPatternResolver;
}

function registry(value: unknown): Registry | undefined {
  if (value === undefined) return undefined;
  const looksLikeRegistry =
    value !== null && typeof value === 'object' && typeof (value as Registry).getSingleMetric === 'function';
  if (!looksLikeRegistry) throw invalid('registry', value, 'a prom-client Registry');
  return value as Registry;
}

function histogram(value: unknown): boolean | Readonly<ArrpcMetricsHistogramOptions> {
  if (value === undefined || typeof value === 'boolean') return value ?? false;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('metricsHistogram', value, 'a boolean or { buckets }');
  }
  const buckets: unknown = (value as ArrpcMetricsHistogramOptions).buckets;
  if (buckets === undefined) return Object.freeze({});
  if (!areHistogramBuckets(buckets)) throw invalid('metricsHistogram.buckets', buckets, 'a non-empty array of finite, strictly increasing numbers');
  return Object.freeze({ buckets: Object.freeze([...buckets]) });
}

function tlsOptions(value: unknown, fromFiles: boolean): Readonly<TlsOptions> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw invalid('tls', value, 'an object of Node TLS options');
  const tls = value as TlsOptions;
  const hasCertificate = (tls.cert !== undefined && tls.key !== undefined) || tls.pfx !== undefined || tls.SNICallback !== undefined;
  if (!hasCertificate && !fromFiles) {
    throw new TypeError('ArrpcServerOptions.tls needs a certificate: cert and key, pfx, SNICallback, or tlsCertFile with tlsKeyFile');
  }
  return Object.freeze({ ...tls });
}

function invalid(key: string, value: unknown, expected: string): TypeError {
  const name = key === '' ? 'ArrpcServerOptions' : `ArrpcServerOptions.${key}`;
  return new TypeError(`${name} must be ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return kindOf(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
