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
  DEFAULT_REPLAY_MAX_NONCES,
  DEFAULT_REPLAY_WINDOW_MS,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
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
   * reaches no handler. A list `[current, ...previous]` accepts a message
   * signed with any of them, to rotate with no outage (servers take
   * `[new, old]`, then clients switch to `new`, then servers drop `old`).
   * Defaults to none: messages are not checked. An empty string, an empty
   * entry or an empty list is refused, so a missing environment variable
   * cannot silently turn authentication off.
   */
  authSecret?: string | readonly string[] | undefined;
  /**
   * Turns the replay guard on: milliseconds either side of this server's clock a guarded signed
   * message's time may be. A guarded message (what an `ArrpcClient` with `peer: 'nestjs-arrpc'`
   * and `authSecret` signs: its time and a random nonce inside the signed bytes) outside the
   * window, or whose nonce was seen within it, is answered with the AuthException string and
   * reaches no handler. Signed messages without a guard (Python peers) are refused unless
   * {@link replayAllowUnguarded}. Needs `authSecret`; clocks must agree within the window.
   * Defaults to {@link DEFAULT_REPLAY_WINDOW_MS}: 0, off.
   */
  replayWindowMs?: number | undefined;
  /**
   * With the replay guard on: serve signed messages that carry no guard, as Python peers (and
   * clients with `peer: 'python'`) sign them, unprotected against replay as before. Defaults to
   * false: they are refused.
   */
  replayAllowUnguarded?: boolean | undefined;
  /**
   * With the replay guard on: nonces remembered at most (about 90 bytes each). Each is held
   * until its message leaves the window, so size it at the peak rate of guarded messages times
   * the window (twice that with skewed clocks); when full, new guarded messages are refused
   * rather than a nonce forgotten. At least 1. Defaults to {@link DEFAULT_REPLAY_MAX_NONCES} (1,000,000).
   */
  replayMaxNonces?: number | undefined;
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
  /**
   * Milliseconds a TLS client has to finish its handshake; one that has not (a truncated or
   * trickled ClientHello, say) is closed, freeing its connection slot. Only with TLS.
   * 0 keeps Node's own default, 120 s. Defaults to {@link DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS}
   * (10 s), unless `tls.handshakeTimeout` is given, which is then used (give one or the other).
   */
  tlsHandshakeTimeoutMs?: number | undefined;
  /** Logs connections, messages (pattern and size), answers and closes through Nest's `Logger` at debug level. Never the secret or payloads. Defaults to false. */
  debug?: boolean | undefined;
  /** Chooses pattern and payload of plain messages. Defaults to none: they all go to the `ARRPC_DEFAULT_PATTERN` handler. */
  resolvePattern?: ArrpcPatternResolver | undefined;
  /** Largest message in bytes, envelope included; a larger one closes its connection. At least 1. Defaults to {@link DEFAULT_MAX_MESSAGE_BYTES} (16 MiB). */
  maxMessageBytes?: number | undefined;
  /**
   * What messages still arriving may hold at once, over every connection of this server, in
   * bytes plus the decoder's per-value charges (about the memory their values take; see
   * `DECODED_COST_PER_MESSAGE_BYTE`). A connection whose partial message would pass it is
   * closed like one over {@link maxMessageBytes}; the others are unaffected. Messages that
   * arrive whole in one read are not counted. 0 = no shared limit. Otherwise at least
   * {@link maxMessageBytes}. Defaults to {@link DEFAULT_MAX_BUFFERED_BYTES} (128 MiB), or what
   * one message may cost (`DECODED_COST_PER_MESSAGE_BYTE` x `maxMessageBytes`) when that is more.
   */
  maxBufferedBytes?: number | undefined;
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
  /** The accepted secrets, current first; `undefined` when messages are not checked. */
  readonly authSecrets: readonly string[] | undefined;
  /** 0 when the replay guard is off. */
  readonly replayWindowMs: number;
  readonly replayAllowUnguarded: boolean;
  readonly replayMaxNonces: number;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly tls: Readonly<TlsOptions> | undefined;
  /** True when TLS is on, by `tls` or the file options. */
  readonly useTls: boolean;
  /** What `tls.createServer` gets as `handshakeTimeout`; 0 leaves Node's default (120 s). */
  readonly tlsHandshakeTimeoutMs: number;
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
  'host', 'port', 'authSecret', 'replayWindowMs', 'replayAllowUnguarded', 'replayMaxNonces', 'tlsCertFile',
  'tlsKeyFile', 'tls', 'tlsHandshakeTimeoutMs', 'debug', 'resolvePattern',
  'maxMessageBytes', 'maxBufferedBytes', 'maxDepth', 'maxConnections', 'incompleteMessageTimeoutMs', 'idleTimeoutMs',
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
  const authSecrets = optional(given.authSecret, (value) => check.secrets('authSecret', value));
  const maxMessageBytes = check.integer('maxMessageBytes', given.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 1);
  return Object.freeze({
    host: check.text('host', given.host ?? DEFAULT_SERVER_HOST),
    port: check.integer('port', given.port ?? DEFAULT_SERVER_PORT, 0, 65_535),
    authSecrets,
    ...replayGuard(given, authSecrets !== undefined),
    tlsCertFile,
    tlsKeyFile,
    tls,
    useTls: tls !== undefined || tlsCertFile !== undefined,
    tlsHandshakeTimeoutMs: handshakeTimeout(given, tls),
    debug: check.boolean('debug', given.debug ?? false),
    resolvePattern: optional(given.resolvePattern, (value) => check.func<ArrpcPatternResolver>('resolvePattern', value)),
    maxMessageBytes,
    maxBufferedBytes: bufferedBytes(given, maxMessageBytes),
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

/** The replay guard's options: all or none, and only with a secret to sign the guard. */
function replayGuard(given: ArrpcServerOptions, signed: boolean): Pick<ResolvedServerOptions, 'replayWindowMs' | 'replayAllowUnguarded' | 'replayMaxNonces'> {
  const replayWindowMs = check.integer('replayWindowMs', given.replayWindowMs ?? DEFAULT_REPLAY_WINDOW_MS, 0);
  if (replayWindowMs === 0) {
    const stray = (['replayAllowUnguarded', 'replayMaxNonces'] as const).find((key) => given[key] !== undefined);
    if (stray !== undefined) throw check.refused(stray, 'needs "replayWindowMs" (the replay guard is off)');
  } else if (!signed) {
    throw check.refused('replayWindowMs', 'needs "authSecret": the guard is checked inside signed messages');
  }
  return {
    replayWindowMs,
    replayAllowUnguarded: check.boolean('replayAllowUnguarded', given.replayAllowUnguarded ?? false),
    replayMaxNonces: check.integer('replayMaxNonces', given.replayMaxNonces ?? DEFAULT_REPLAY_MAX_NONCES, 1),
  };
}

/** `maxBufferedBytes`: 0, or room for at least one message of `maxMessageBytes`. */
function bufferedBytes(given: ArrpcServerOptions, maxMessageBytes: number): number {
  const fallback = Math.max(DEFAULT_MAX_BUFFERED_BYTES, maxMessageBytes * DECODED_COST_PER_MESSAGE_BYTE);
  const value = check.integer('maxBufferedBytes', given.maxBufferedBytes ?? fallback, 0);
  if (value !== 0 && value < maxMessageBytes) {
    throw check.invalid('maxBufferedBytes', `0 or at least "maxMessageBytes" (${maxMessageBytes})`, value);
  }
  return value;
}

/** `tlsHandshakeTimeoutMs`, else `tls.handshakeTimeout` (checked by Node), else the default. */
function handshakeTimeout(given: ArrpcServerOptions, tls: Readonly<TlsOptions> | undefined): number {
  if (tls?.handshakeTimeout === undefined) {
    return timeout('tlsHandshakeTimeoutMs', given.tlsHandshakeTimeoutMs ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS);
  }
  if (given.tlsHandshakeTimeoutMs !== undefined) throw check.refused('tlsHandshakeTimeoutMs', 'excludes "tls.handshakeTimeout": give one or the other');
  return tls.handshakeTimeout;
}

function tlsOptions(value: unknown, fromFiles: boolean): Readonly<TlsOptions> {
  const tls = check.object('tls', value as TlsOptions, 'an object of Node TLS options');
  const hasCertificate = (tls.cert !== undefined && tls.key !== undefined) || tls.pfx !== undefined || tls.SNICallback !== undefined;
  if (!hasCertificate && !fromFiles) {
    throw check.refused('tls', 'needs a certificate: cert and key, pfx, SNICallback, or tlsCertFile with tlsKeyFile');
  }
  return Object.freeze({ ...tls });
}
