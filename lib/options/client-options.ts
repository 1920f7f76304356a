import type { LookupAddress, LookupAllOptions } from 'node:dns';
import type { ConnectionOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import {
  DEFAULT_BALANCE,
  DEFAULT_CLIENT_HOST,
  DEFAULT_CON_MAX_RETRIES,
  DEFAULT_EJECT_AFTER_FAILURES,
  DEFAULT_EJECTION_BACKOFF_MAX_MS,
  DEFAULT_EJECTION_BACKOFF_MS,
  DEFAULT_HEAD_OF_LINE_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUED,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  DEFAULT_NESTJS_ARRPC_PIPELINE,
  DEFAULT_PEER,
  DEFAULT_PIPELINE,
  DEFAULT_POOL_SIZE,
  DEFAULT_RESOLVE_INTERVAL_MS,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_BUDGET,
} from '../constants.js';
import { peerProfile, type ArrpcPeer } from '../protocol/index.js';
import type { ArrpcMetricsHistogramOptions } from './histogram-options.js';
import { optional } from './option-checks.js';
import { BALANCES, PEERS, check, idempotentPatterns, probe, retryBudget, servers } from './client-option-checks.js';

export type { ArrpcPeer } from '../protocol/index.js';

/**
 * How requests are spread over endpoints. `'p2c'` (power of two choices): of two endpoints
 * picked at random, the one with fewer requests in flight (written and unanswered, plus
 * queued). `'round-robin'`: each endpoint in turn.
 */
export type ArrpcBalance = 'p2c' | 'round-robin';

/**
 * Where endpoints come from with `host` + `port`. `'none'`: `host` is one endpoint (the system
 * resolves it at each connect, to one address). `'dns'`: every A/AAAA record of `host` is an
 * endpoint, looked up again every `resolveIntervalMs` and after an endpoint fails.
 */
export type ArrpcResolve = 'none' | 'dns';

/**
 * A DNS lookup with the signature of Node's `dns.lookup` as called with `{ all: true }`: it calls
 * back with every address of `hostname`. Node's `dns.lookup` is one.
 */
export type ArrpcLookup = (
  hostname: string,
  options: LookupAllOptions,
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * How an ejected Python endpoint is probed: `message` is sent on the default pattern (raw, as a
 * Python client sends it) and the answer must equal `expect`, or be any answer that is not an
 * error when `expect` is left out.
 */
export interface ArrpcProbe {
  /** The value sent; it must have a MessagePack form. */
  message: unknown;
  /**
   * The answer that readmits the endpoint, compared as MessagePack. Defaults to any answer that
   * is not an `arrpc.error`; `undefined` is the same as leaving it out (give `null` to expect nil).
   */
  expect?: unknown;
}

/** See {@link ArrpcClientOptions.retryBudget}. Every field is optional. */
export interface ArrpcRetryBudget {
  /** Share of the window's requests that may be re-sent, 0 or more. Defaults to 0.2. */
  ratio?: number | undefined;
  /** The window, in milliseconds, above 0. Defaults to 10,000. */
  windowMs?: number | undefined;
  /** Re-sends allowed per second of the window whatever the traffic, 0 or more. Defaults to 10. */
  minPerSecond?: number | undefined;
}

/** One server: a host name or address and a port. */
export interface ArrpcEndpointAddress {
  readonly host: string;
  readonly port: number;
}

/** Options of `ArrpcClient`. Every field is optional except `port` (or `endpoints`, instead of `host` and `port`). */
export interface ArrpcClientOptions {
  /** Server host name or IP address. Defaults to `'127.0.0.1'` ({@link DEFAULT_CLIENT_HOST}). Not with `endpoints`. */
  host?: string | undefined;
  /** Server TCP port, 1 to 65535. Required unless `endpoints` is given: there is no default, and 0 is refused. */
  port?: number | undefined;
  /**
   * Several servers, each `'host:port'` (`'[::1]:4000'` for an IPv6 address), instead of
   * `host` and `port`. Requests are spread over them by {@link balance}; see
   * docs/replicas.md. Defaults to none: `host` and `port` are the one server.
   */
  endpoints?: readonly string[] | undefined;
  /**
   * `'dns'`: every address `host` resolves to is an endpoint (a Kubernetes headless Service
   * name, say), looked up again every {@link resolveIntervalMs} and after an endpoint is
   * ejected or drains; a failed lookup keeps the last good set. Defaults to `'none'`: `host` is
   * one endpoint.
   */
  resolve?: ArrpcResolve | undefined;
  /**
   * The lookup used with `resolve: 'dns'`, with the signature of Node's `dns.lookup`; it is
   * called with `{ all: true }`. For tests and custom discovery. Defaults to `dns.lookup`.
   */
  lookup?: ArrpcLookup | undefined;
  /**
   * Milliseconds between two lookups with `resolve: 'dns'`. Defaults to 30,000
   * ({@link DEFAULT_RESOLVE_INTERVAL_MS}); 0 looks up only at the first call and after an
   * endpoint is ejected or drains.
   */
  resolveIntervalMs?: number | undefined;
  /** How requests are spread over endpoints, see {@link ArrpcBalance}. Defaults to `'p2c'` ({@link DEFAULT_BALANCE}). */
  balance?: ArrpcBalance | undefined;
  /**
   * Milliseconds after which a connection is retired: it takes no new request and closes once
   * its requests are answered; the next one opens fresh. Each connection's age is jittered by
   * ±10% so they do not all reconnect at once. Spreads traffic to servers added behind one name
   * (a ClusterIP Service) without re-resolution. Defaults to none; 0 is the same as unset.
   */
  maxConnectionAgeMs?: number | undefined;
  /**
   * Failures in a row (a failed connection attempt, a request timing out, a connection broken
   * with requests in flight) that eject an endpoint: it gets no new requests until a probe
   * succeeds. Any answer from the server ends the run. The last healthy endpoint is never
   * ejected (a client with one endpoint never is): calls keep trying it. Defaults to 3
   * ({@link DEFAULT_EJECT_AFTER_FAILURES}); 0 turns ejection off.
   */
  ejectAfterFailures?: number | undefined;
  /**
   * Milliseconds from an ejection to the first probe; each failed probe doubles the wait, up
   * to {@link ejectionBackoffMaxMs}. Defaults to 1,000 ({@link DEFAULT_EJECTION_BACKOFF_MS}); 0 is refused.
   */
  ejectionBackoffMs?: number | undefined;
  /**
   * Longest wait between two probes, in milliseconds, at least `ejectionBackoffMs`. Defaults to
   * 30,000 ({@link DEFAULT_EJECTION_BACKOFF_MAX_MS}).
   */
  ejectionBackoffMaxMs?: number | undefined;
  /**
   * How an ejected Python server is probed, see {@link ArrpcProbe}. Only with `peer: 'python'`:
   * a `'nestjs-arrpc'` peer is probed with `arrpc.ping`. Defaults to none: a Python endpoint is
   * readmitted as soon as a connection to it opens.
   */
  probe?: ArrpcProbe | undefined;
  /**
   * Patterns whose requests may run twice, or `true` for every pattern. A request with one of
   * them that was written, then lost with its connection, is sent once more, to another
   * endpoint, within {@link retryBudget}. Other written requests are never sent again: they may
   * have run. Object patterns are compared as Nest's normalised text (`'{"cmd":"sum"}'`).
   * Defaults to none.
   */
  idempotentPatterns?: readonly string[] | true | undefined;
  /**
   * Caps re-sends of written requests (see {@link idempotentPatterns}), so retries cannot
   * multiply load during an outage: at most `ratio` of the requests of the last `windowMs`, plus
   * `minPerSecond` per second of it. A request that finds the budget empty fails with its own
   * error. Defaults to `{ ratio: 0.2, windowMs: 10_000, minPerSecond: 10 }` ({@link DEFAULT_RETRY_BUDGET}).
   */
  retryBudget?: ArrpcRetryBudget | undefined;
  /**
   * Longest time, in milliseconds, a call waits for its answer, counted from
   * the call (connecting and queueing included). Passed to an `ArrpcServer`
   * as the request's deadline. Also bounds each connection attempt. Defaults to
   * none: a call waits as long as the connection lives, as in Python. 0 is
   * refused; at most 2^31−1 (about 24.8 days).
   */
  timeout?: number | undefined;
  /**
   * Connection attempts before calls fail with `ConnectException`, as
   * Python's `con_max_retries`. Defaults to 5 ({@link DEFAULT_CON_MAX_RETRIES}).
   * 0 is refused: at least one attempt is needed.
   */
  conMaxRetries?: number | undefined;
  /**
   * Back-off base in milliseconds: after the n-th failed attempt the client
   * waits n times this before the next. Defaults to 1000 ({@link DEFAULT_RETRY_BASE_MS}),
   * which waits 1 s, 2 s, 3 s... as Python. 0 retries at once.
   */
  retryBaseMs?: number | undefined;
  /**
   * Shared secret: every message is signed with HMAC-SHA256, as Python's
   * `auth_secret`. Answers are never signed. A list `[current, ...previous]`
   * (the server's form, so both can read one setting) signs with the first.
   * With `peer: 'nestjs-arrpc'`, each signed message also carries the replay
   * guard (the client's clock and a random nonce) that a server's `replayWindowMs` checks.
   * Defaults to none (unsigned); an empty string, an empty entry or an empty list is refused.
   */
  authSecret?: string | readonly string[] | undefined;
  /** Path of a PEM file of CA certificates to verify the server with; turns TLS on. Defaults to none. */
  tlsCaFile?: string | undefined;
  /**
   * With `tlsCaFile` holding the server's own self-signed certificate: the
   * server must present exactly one of the certificates in that file (chain
   * checked against it, host name not checked). Unlike Python's
   * `tls_self_signed`, verification is never turned off: any other
   * certificate is refused. Defaults to false; requires `tlsCaFile`.
   */
  tlsSelfSigned?: boolean | undefined;
  /**
   * Node TLS options passed to `tls.connect` (client certificate and key for
   * mutual TLS, `servername`, ciphers...); turns TLS on. `tlsCaFile` replaces
   * its `ca`. Defaults to none.
   */
  tls?: ConnectionOptions | undefined;
  /**
   * Connections a client may open to each endpoint. They open on demand: a call that finds
   * every open connection busy (full, or stalled, see {@link headOfLineMs}) opens another
   * rather than wait, until there are `poolSize`; then calls wait for room in order. They stay
   * open until the client closes, the server closes them or {@link maxConnectionAgeMs}
   * retires them. Defaults to 8 ({@link DEFAULT_POOL_SIZE}); 1 keeps one connection, on which
   * calls wait their turn; 0 is refused.
   */
  poolSize?: number | undefined;
  /**
   * Requests in flight on one connection. Defaults to 1 ({@link DEFAULT_PIPELINE}) with
   * `peer: 'python'`, which Python servers need (more than 1 is refused there), and to 16
   * ({@link DEFAULT_NESTJS_ARRPC_PIPELINE}) with `peer: 'nestjs-arrpc'`. A call goes to an
   * idle connection first, then to a new one while the pool can grow, and only then behind
   * others on a busy one. 0 is refused.
   */
  pipeline?: number | undefined;
  /**
   * Milliseconds the oldest unanswered request on a connection may wait before that connection
   * takes no more requests, until it answers: answers come in order, so a call written behind
   * a slow one would wait for it. Later calls go to another connection, a new one while the
   * pool can grow, or wait for room. Matters only with `pipeline` above 1. Defaults to 20
   * ({@link DEFAULT_HEAD_OF_LINE_MS}); 0 turns the bound off (a connection takes requests up
   * to `pipeline` whatever waits on it).
   */
  headOfLineMs?: number | undefined;
  /** The kind of server, see {@link ArrpcPeer}. Defaults to `'python'` ({@link DEFAULT_PEER}). */
  peer?: ArrpcPeer | undefined;
  /**
   * Calls that may wait for a connection with room at once, over every endpoint (calls
   * written and awaiting their answer do not count: `poolSize` × `pipeline` bounds those per
   * endpoint). One call more fails at once with `QueueFullException`, nothing written.
   * Defaults to 10,000 ({@link DEFAULT_MAX_QUEUED}); 0 is refused, since the first call
   * waits while the first connection opens.
   */
  maxQueued?: number | undefined;
  /**
   * Largest answer accepted, in bytes; a larger one fails its call with
   * `InvalidResponseException` and the connection is replaced. Defaults to
   * 16 MiB ({@link DEFAULT_MAX_MESSAGE_BYTES}); 0 is refused.
   */
  maxMessageBytes?: number | undefined;
  /** Logs connections, retries and protocol surprises at debug level. Defaults to false. */
  debug?: boolean | undefined;
  /**
   * Records the reference's Prometheus metrics (`arrpc_client_req_seconds`,
   * `arrpc_client_req_bytes`, `arrpc_client_errors_total`) and `arrpc_client_retries_total`
   * into {@link registry}. Defaults to false: nothing is recorded or timed.
   */
  metrics?: boolean | undefined;
  /**
   * Port of a standalone HTTP listener serving {@link registry} at `/metrics`, for a
   * microservice with no HTTP side; 0 picks a free one (read it from
   * `client.getMetricsPort()`). Opens at `connect()` or the first call, only with
   * `metrics: true`, on every interface, and closes with `close()`; servers and clients of
   * one process given the same port share one listener. `ARRPC_METRICS_PORT` (9095) is the
   * reference's port. Defaults to none: no listener (a hybrid app serves `/metrics` with
   * `ArrpcMetricsModule`).
   */
  metricsPort?: number | undefined;
  /**
   * The prom-client registry recorded into (and served on {@link metricsPort}). Defaults to
   * prom-client's global `register`, the one `PrometheusModule` and `ArrpcMetricsModule` serve.
   */
  registry?: Registry | undefined;
  /**
   * Beyond the reference: also record latency in the histogram
   * `arrpc_client_req_duration_seconds`, with a `pattern` label. `true` uses
   * `DEFAULT_METRICS_HISTOGRAM_BUCKETS` (0.5 ms to 10 s); `{ buckets }` gives yours, in
   * seconds, strictly increasing. Defaults to false.
   */
  metricsHistogram?: boolean | ArrpcMetricsHistogramOptions | undefined;
  /**
   * Beyond the reference: distinct `reason` values `arrpc_client_errors_total` (and
   * `arrpc_client_retries_total`) keeps; past them a new reason is counted as `other`. 0 counts
   * every reason as `other`. Defaults to {@link DEFAULT_METRICS_MAX_ERROR_REASONS} (100).
   */
  metricsMaxErrorReasons?: number | undefined;
}

/** {@link ArrpcClientOptions} with every default filled in, frozen. */
export interface ResolvedClientOptions {
  /** `undefined` when `endpoints` was given. */
  readonly host: string | undefined;
  /** `undefined` when `endpoints` was given. */
  readonly port: number | undefined;
  /** The servers: `endpoints` parsed, or `host` and `port` (the name to look up with `resolve: 'dns'`). */
  readonly endpoints: readonly ArrpcEndpointAddress[];
  readonly resolve: ArrpcResolve;
  /** Set with `resolve: 'dns'` only (`dns.lookup` unless given). */
  readonly lookup: ArrpcLookup | undefined;
  readonly resolveIntervalMs: number;
  readonly timeout: number | undefined;
  readonly conMaxRetries: number;
  readonly retryBaseMs: number;
  /** The secret requests are signed with (the first of a list); `undefined` when unsigned. */
  readonly authSecret: string | undefined;
  readonly tlsCaFile: string | undefined;
  readonly tlsSelfSigned: boolean;
  readonly tls: ConnectionOptions | undefined;
  readonly poolSize: number;
  readonly pipeline: number;
  /** 0 when off. */
  readonly headOfLineMs: number;
  readonly peer: ArrpcPeer;
  readonly maxQueued: number;
  readonly maxMessageBytes: number;
  readonly debug: boolean;
  readonly metrics: boolean;
  readonly metricsPort: number | undefined;
  readonly registry: Registry | undefined;
  readonly metricsHistogram: boolean | Readonly<ArrpcMetricsHistogramOptions>;
  readonly metricsMaxErrorReasons: number;
  readonly balance: ArrpcBalance;
  /** `undefined` when off. */
  readonly maxConnectionAgeMs: number | undefined;
  readonly ejectAfterFailures: number;
  readonly ejectionBackoffMs: number;
  readonly ejectionBackoffMaxMs: number;
  readonly probe: Readonly<ArrpcProbe> | undefined;
  /** `true`, or the patterns (empty: none). */
  readonly idempotentPatterns: true | readonly string[];
  readonly retryBudget: Readonly<{ ratio: number; windowMs: number; minPerSecond: number }>;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof ArrpcClientOptions>([
  'host', 'port', 'timeout', 'conMaxRetries', 'retryBaseMs', 'authSecret', 'tlsCaFile',
  'tlsSelfSigned', 'tls', 'poolSize', 'pipeline', 'headOfLineMs', 'peer', 'maxQueued', 'maxMessageBytes', 'debug', 'metrics', 'metricsPort',
  'registry', 'metricsHistogram', 'metricsMaxErrorReasons', 'endpoints', 'resolve', 'lookup', 'resolveIntervalMs',
  'balance', 'maxConnectionAgeMs', 'ejectAfterFailures', 'ejectionBackoffMs', 'ejectionBackoffMaxMs', 'probe',
  'idempotentPatterns', 'retryBudget',
]);

/**
 * Checks `options` and fills in the defaults. Throws a `TypeError` naming the
 * option and the bad value (never the secret's value).
 */
export function resolveClientOptions(options: ArrpcClientOptions | undefined): ResolvedClientOptions {
  const given: ArrpcClientOptions = check.knownKeys(options, KNOWN_OPTIONS);
  const peer = check.oneOf('peer', given.peer ?? DEFAULT_PEER, PEERS);
  const profile = peerProfile(peer);
  const pipeline = check.integer('pipeline', given.pipeline ?? profile.defaultPipeline, 1);
  if (pipeline > profile.maxPipeline) {
    throw check.refused('pipeline', `${pipeline} needs peer 'nestjs-arrpc'; a Python server reads one request at a time`);
  }
  const tlsSelfSigned = check.boolean('tlsSelfSigned', given.tlsSelfSigned ?? false);
  if (tlsSelfSigned && given.tlsCaFile === undefined) {
    throw check.refused('tlsSelfSigned', 'needs "tlsCaFile": the certificate to trust');
  }
  const ejectionBackoffMs = check.milliseconds('ejectionBackoffMs', given.ejectionBackoffMs ?? DEFAULT_EJECTION_BACKOFF_MS);
  const ejectionBackoffMaxMs = check.milliseconds('ejectionBackoffMaxMs', given.ejectionBackoffMaxMs ?? DEFAULT_EJECTION_BACKOFF_MAX_MS);
  if (ejectionBackoffMaxMs < ejectionBackoffMs) {
    throw check.refused('ejectionBackoffMaxMs', `${ejectionBackoffMaxMs} is below "ejectionBackoffMs" (${ejectionBackoffMs})`);
  }
  return Object.freeze({
    ...servers(given),
    timeout: check.optionalPositive('timeout', given.timeout),
    conMaxRetries: check.integer('conMaxRetries', given.conMaxRetries ?? DEFAULT_CON_MAX_RETRIES, 1),
    retryBaseMs: check.nonNegative('retryBaseMs', given.retryBaseMs ?? DEFAULT_RETRY_BASE_MS),
    // A list is the server's form, so both can read one setting: the first entry signs.
    authSecret: optional(given.authSecret, (value) => check.secrets('authSecret', value)[0]!),
    tlsCaFile: given.tlsCaFile === undefined ? undefined : check.text('tlsCaFile', given.tlsCaFile),
    tlsSelfSigned,
    tls: given.tls === undefined ? undefined : check.object('tls', given.tls),
    poolSize: check.integer('poolSize', given.poolSize ?? DEFAULT_POOL_SIZE, 1),
    pipeline,
    headOfLineMs: check.nonNegative('headOfLineMs', given.headOfLineMs ?? DEFAULT_HEAD_OF_LINE_MS),
    peer,
    maxQueued: check.integer('maxQueued', given.maxQueued ?? DEFAULT_MAX_QUEUED, 1),
    maxMessageBytes: check.integer('maxMessageBytes', given.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES, 1),
    debug: check.boolean('debug', given.debug ?? false),
    metrics: check.boolean('metrics', given.metrics ?? false),
    metricsPort: given.metricsPort === undefined ? undefined : check.integer('metricsPort', given.metricsPort, 0, 65_535),
    registry: given.registry === undefined ? undefined : check.registry('registry', given.registry),
    metricsHistogram: check.histogram('metricsHistogram', given.metricsHistogram ?? false),
    metricsMaxErrorReasons: check.integer('metricsMaxErrorReasons', given.metricsMaxErrorReasons ?? DEFAULT_METRICS_MAX_ERROR_REASONS, 0),
    balance: check.oneOf('balance', given.balance ?? DEFAULT_BALANCE, BALANCES),
    maxConnectionAgeMs: given.maxConnectionAgeMs === 0 ? undefined : check.optionalPositive('maxConnectionAgeMs', given.maxConnectionAgeMs),
    ejectAfterFailures: check.integer('ejectAfterFailures', given.ejectAfterFailures ?? DEFAULT_EJECT_AFTER_FAILURES, 0),
    ejectionBackoffMs,
    ejectionBackoffMaxMs,
    probe: probe(given.probe, peer),
    idempotentPatterns: idempotentPatterns(given.idempotentPatterns),
    retryBudget: retryBudget(given.retryBudget),
  });
}
