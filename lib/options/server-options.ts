import type { TlsOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_PER_CONNECTION,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
} from '../constants.js';
import type { ArrpcMetricsHistogramOptions } from './histogram-options.js';
import { MAX_TIMEOUT_MS, optionChecks, optional } from './option-checks.js';

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
  host?: string | undefined;
  /** TCP port to bind, 0 to 65535. Defaults to {@link DEFAULT_SERVER_PORT}: 0, a free port the OS picks. */
  port?: number | undefined;
  /**
   * Shared secret (Python `auth_secret`): every message must then be signed
   * with HMAC-SHA256 of it, or is answered with the AuthException string and
   * reaches no handler. Defaults to none: messages are not checked. An empty
   * string is refused, so a missing environment variable cannot silently turn
   * authentication off.
   */
  authSecret?: string | undefined;
  /** Path of the PEM certificate (Python `tls_certfile`), read by `listen()`. Needs {@link tlsKeyFile}. Turns TLS on. */
  tlsCertFile?: string | undefined;
  /** Path of the PEM private key (Python `tls_keyfile`), read by `listen()`. Needs {@link tlsCertFile}. */
  tlsKeyFile?: string | undefined;
  /**
   * Node TLS server options, passed to `tls.createServer` as they are: in-memory
   * `cert`/`key`, and `requestCert` with `ca` for mutual TLS (Node then refuses
   * clients without a certificate from `ca`). Turns TLS on. The certificate
   * and key read from {@link tlsCertFile}/{@link tlsKeyFile} replace `cert`/`key` here.
   * Defaults to none: plain TCP, unless the file options are given.
   */
  tls?: TlsOptions | undefined;
  /** Logs connections, messages (pattern and size), answers and closes through Nest's `Logger` at debug level. Never the secret or payloads. Defaults to false. */
  debug?: boolean | undefined;
  /** Chooses pattern and payload of plain messages. Defaults to none: they all go to the `ARRPC_DEFAULT_PATTERN` handler. */
  resolvePattern?: ArrpcPatternResolver | undefined;
  /** Largest message in bytes, envelope included; a larger one closes its connection. At least 1. Defaults to {@link DEFAULT_MAX_MESSAGE_BYTES} (16 MiB). */
  maxMessageBytes?: number | undefined;
  /** Deepest nesting of arrays and maps in a message or answer; deeper closes the connection. At least 1. Defaults to {@link DEFAULT_MAX_DEPTH} (100). */
  maxDepth?: number | undefined;
  /** Connections held at once; one more is closed on arrival, served ones are unaffected. 0 = no limit. Defaults to {@link DEFAULT_MAX_CONNECTIONS} (10,000). */
  maxConnections?: number | undefined;
  /**
   * Milliseconds a message may take from its first byte to its last; a
   * connection that takes longer is closed (after earlier answers are sent).
   * 0 = no limit. Defaults to {@link DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS} (30 s).
   */
  incompleteMessageTimeoutMs?: number | undefined;
  /**
   * Milliseconds a connection with no message arriving and none being handled
   * may stay open before the server closes it. 0 = forever. Defaults to
   * {@link DEFAULT_IDLE_TIMEOUT_MS}: 0, because a Python client keeps one
   * connection for its lifetime and reads a close as a `None` answer.
   */
  idleTimeoutMs?: number | undefined;
  /**
   * Handlers one connection may have running at once, requests and events
   * alike; further messages wait, and the connection is not read while this
   * many answers are pending. At least 1. Defaults to
   * {@link DEFAULT_MAX_CONCURRENT_PER_CONNECTION} (64).
   */
  maxConcurrentPerConnection?: number | undefined;
  /**
   * Milliseconds `close()` waits for open connections to be closed by their
   * peers and running handlers to finish; then handlers get their abort
   * signal and every socket is closed. 0 = no wait. Defaults to
   * {@link DEFAULT_DRAIN_TIMEOUT_MS} (10 s).
   */
  drainTimeoutMs?: number | undefined;
  /**
   * Records the reference's Prometheus metrics (`arrpc_server_req_seconds`,
   * `arrpc_server_req_bytes`, `arrpc_server_errors_total`) into {@link registry}.
   * Defaults to false: nothing is recorded or timed.
   */
  metrics?: boolean | undefined;
  /**
   * Port of a standalone HTTP listener serving {@link registry} at `/metrics`, for a
   * microservice with no HTTP side; 0 picks a free one (read it from
   * `server.getMetricsPort()`). Opens at `listen()` only with `metrics: true`, on every
   * interface, and closes with the server; servers and clients of one process given the
   * same port share one listener. `ARRPC_METRICS_PORT` (9095) is the reference's port.
   * Defaults to none: no listener (a hybrid app serves `/metrics` with `ArrpcMetricsModule`).
   */
  metricsPort?: number | undefined;
  /**
   * The prom-client registry recorded into (and served on {@link metricsPort}). Defaults to
   * prom-client's global `register`, the one `PrometheusModule` and `ArrpcMetricsModule` serve.
   */
  registry?: Registry | undefined;
  /**
   * Beyond the reference: also record latency in the histogram
   * `arrpc_server_req_duration_seconds`, with a `pattern` label. `true` uses
   * `DEFAULT_METRICS_HISTOGRAM_BUCKETS` (0.5 ms to 10 s); `{ buckets }` gives yours, in
   * seconds, strictly increasing. Defaults to false.
   */
  metricsHistogram?: boolean | ArrpcMetricsHistogramOptions | undefined;
  /**
   * Beyond the reference: distinct `reason` values `arrpc_server_errors_total` keeps; past
   * them a new reason is counted as `other`. 0 counts every reason as `other`. Defaults to
   * {@link DEFAULT_METRICS_MAX_ERROR_REASONS} (100).
   */
  metricsMaxErrorReasons?: number | undefined;
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
  'maxMessageBytes', 'maxDepth', 'maxConnections', 'incompleteMessageTimeoutMs', 'idleTimeoutMs',
  'maxConcurrentPerConnection', 'drainTimeoutMs', 'metrics', 'metricsPort', 'registry', 'metricsHistogram',
  'metricsMaxErrorReasons',
]);

const check = optionChecks('ArrpcServer');

/**
 * Checks `options` once and fills in the defaults. Throws a `TypeError` naming
 * the option and the bad value (never the secret's value); unknown keys are
 * refused too, so a misspelt `authSecret` cannot silently turn signing off.
 * An option set to `undefined` is the same as one left out.
 */
export function resolveServerOptions(options: ArrpcServerOptions = {}): ResolvedServerOptions {
  const given = check.knownKeys(options, KNOWN_OPTIONS);
  const tlsCertFile = optional(given.tlsCertFile, (value) => check.text('tlsCertFile', value));
  const tlsKeyFile = optional(given.tlsKeyFile, (value) => check.text('tlsKeyFile', value));
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    const [missing, present] = tlsCertFile === undefined ? ['tlsCertFile', 'tlsKeyFile'] : ['tlsKeyFile', 'tlsCertFile'];
    throw check.refused(present, `needs "${missing}": give both or neither`);
  }
  const tls = optional(given.tls, (value) => tlsOptions(value, tlsCertFile !== undefined));
  return Object.freeze({
    host: check.text('host', given.host ?? DEFAULT_SERVER_HOST),
    port: check.integer('port', given.port ?? DEFAULT_SERVER_PORT, 0, 65_535),
    authSecret: optional(given.authSecret, (value) => check.secret('authSecret', value)),
    tlsCertFile,
    tlsKeyFile,
    tls,
    useTls: tls !== undefined || tlsCertFile !== undefined,
    debug: check.boolean('debug', given.debug ?? false),
    resolvePattern: optional(given.resolvePattern, (value) => check.func<ArrpcPatternResolver>('resolvePattern', value)),
    maxMessageBytes: check.integer('maxMessageBytes', given.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 1),
    maxDepth: check.integer('maxDepth', given.maxDepth ?? DEFAULT_MAX_DEPTH, 1),
    maxConnections: check.integer('maxConnections', given.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 0),
    incompleteMessageTimeoutMs: timeout('incompleteMessageTimeoutMs', given.incompleteMessageTimeoutMs ?? DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS),
    idleTimeoutMs: timeout('idleTimeoutMs', given.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS),
    maxConcurrentPerConnection: check.integer('maxConcurrentPerConnection', given.maxConcurrentPerConnection ?? DEFAULT_MAX_CONCURRENT_PER_CONNECTION, 1),
    drainTimeoutMs: timeout('drainTimeoutMs', given.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS),
    metrics: check.boolean('metrics', given.metrics ?? false),
    metricsPort: optional(given.metricsPort, (value) => check.integer('metricsPort', value, 0, 65_535)),
    registry: optional(given.registry, (value) => check.registry('registry', value)),
    metricsHistogram: check.histogram('metricsHistogram', given.metricsHistogram ?? false),
    metricsMaxErrorReasons: check.integer('metricsMaxErrorReasons', given.metricsMaxErrorReasons ?? DEFAULT_METRICS_MAX_ERROR_REASONS, 0),
  });
}

/** Whole milliseconds a timer can wait; 0 turns the timeout off. */
function timeout(name: string, value: unknown): number {
  return check.integer(name, value, 0, MAX_TIMEOUT_MS);
}

function tlsOptions(value: unknown, fromFiles: boolean): Readonly<TlsOptions> {
  const tls = check.object('tls', value as TlsOptions, 'an object of Node TLS options');
  const hasCertificate = (tls.cert !== undefined && tls.key !== undefined) || tls.pfx !== undefined || tls.SNICallback !== undefined;
  if (!hasCertificate && !fromFiles) {
    throw check.refused('tls', 'needs a certificate: cert and key, pfx, SNICallback, or tlsCertFile with tlsKeyFile');
  }
  return Object.freeze({ ...tls });
}
