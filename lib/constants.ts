/**
 * Public defaults and reserved names. Every default lives here as a named
 * constant so the docs, the option resolvers and the tests agree.
 */

/**
 * The pattern that receives plain arrpc messages: what a Python `arrpc.Client`
 * sends. On the client, sending to it writes the payload raw, as Python does.
 */
export const ARRPC_DEFAULT_PATTERN = 'arrpc';

/** Reserved health-check pattern, answered by the server itself. */
export const ARRPC_PING_PATTERN = 'arrpc.ping';

/** Prefix of every reserved pattern; user handlers may not register one. */
export const ARRPC_RESERVED_PATTERN_PREFIX = 'arrpc.';

/** Largest message, in bytes, a decoder accepts before closing the stream: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * What one message may cost decoded, as a multiple of its byte limit (plus 64 KiB, so a tiny
 * limit still bounds bytes first): its bytes plus 8 per value or map key, 64 per array or map,
 * 16 per str, 192 per bin and 256 per ext value, about what they hold in memory. A 16 MiB
 * limit thus bounds a message to about 48 MiB however tiny its values are; one of many tiny
 * values is refused below its byte limit.
 */
export const DECODED_COST_PER_MESSAGE_BYTE = 3;

/** Deepest nesting of arrays and maps a decoder or encoder accepts. */
export const DEFAULT_MAX_DEPTH = 100;

/**
 * Connection status a client or server pushes on its `status` stream (Nest 12).
 * An `as const` object, not a `const enum`, so `isolatedModules` consumers can use it.
 */
export const ArrpcStatus = {
  /** No connection is open (or listening) and none is being opened. */
  Disconnected: 'disconnected',
  /** A first connection is being opened, retries included. */
  Connecting: 'connecting',
  /** At least one connection is open (or the server is listening). */
  Connected: 'connected',
} as const;

export type ArrpcStatus = (typeof ArrpcStatus)[keyof typeof ArrpcStatus];

/** `meta` key carrying the caller's remaining time, in whole milliseconds as a decimal str. */
export const ARRPC_TIMEOUT_META_KEY = 'arrpc-timeout-ms';

/** Prefix of the `meta` keys only the client library writes; a dispatch hook's are dropped. */
export const ARRPC_RESERVED_META_PREFIX = 'arrpc-';

/** Host a client connects to when `host` is not given. */
export const DEFAULT_CLIENT_HOST = '127.0.0.1';

/** Connection attempts before a client gives up with `ConnectException`, as the reference. */
export const DEFAULT_CON_MAX_RETRIES = 5;

/** Back-off base in milliseconds: the client waits 1x, 2x, 3x... this between attempts. */
export const DEFAULT_RETRY_BASE_MS = 1000;

/**
 * Connections a client may open to one server: 8. They open on demand, when a call finds every
 * open one busy (a call never waits behind another while the pool can grow), and stay open.
 * Eight lets seven slow calls run while fast ones still get a connection of their own; each
 * costs a socket here and one on the server (a greenlet on a Python server), times endpoints.
 */
export const DEFAULT_POOL_SIZE = 8;

/**
 * Calls a client lets wait for a connection with room, over all its endpoints: 10,000. One
 * more fails at once with `QueueFullException`.
 */
export const DEFAULT_MAX_QUEUED = 10_000;

/** Requests a client keeps in flight on one connection to a Python peer: 1, which Python servers need. */
export const DEFAULT_PIPELINE = 1;

/**
 * Requests a client keeps in flight on one connection to an `ArrpcServer` (`peer:
 * 'nestjs-arrpc'`), which answers them in order: 16. Measured on 1,000 concurrent calls
 * through one client with 8 connections, 16 is where more stops helping (2: 23 ms, 8: 18 ms,
 * 16: 15 ms, 64: 15 ms); it is a quarter of the server's `maxConcurrentPerConnection` (64).
 */
export const DEFAULT_NESTJS_ARRPC_PIPELINE = 16;

/**
 * Milliseconds the oldest unanswered request on a pipelined connection may wait before that
 * connection takes no more requests until it answers: 20. Answers come in order, so a call
 * written behind a slow one waits for it; past this, later calls go to another connection.
 * Well above a healthy answer's wait (a whole burst of 1,000 calls takes ~15 ms here), so a
 * busy connection is not skipped for being busy; well below what a fast call may take (50 ms).
 */
export const DEFAULT_HEAD_OF_LINE_MS = 20;

/** What a client assumes the server is: a Python arrpc process, the safe choice. */
export const DEFAULT_PEER = 'python';

// Many servers (client): balancing, discovery, ejection and retries.

/** How a client picks the server for each request: power of two choices (`'p2c'`). */
export const DEFAULT_BALANCE = 'p2c';

/** Milliseconds between DNS lookups with `resolve: 'dns'`: 30 s. */
export const DEFAULT_RESOLVE_INTERVAL_MS = 30_000;

/** Failures in a row (connect, timeout, broken connection) that eject an endpoint. */
export const DEFAULT_EJECT_AFTER_FAILURES = 3;

/** Milliseconds before an ejected endpoint's first probe: 1 s, doubled after each failed probe. */
export const DEFAULT_EJECTION_BACKOFF_MS = 1_000;

/** Longest wait, in milliseconds, between two probes of an ejected endpoint: 30 s. */
export const DEFAULT_EJECTION_BACKOFF_MAX_MS = 30_000;

/**
 * Milliseconds a readmission probe may take (connect and answer) when the client has no
 * `timeout`: 5 s. With a `timeout`, that bounds the probe instead.
 */
export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/**
 * Re-sends of written requests a client allows: `ratio` of the requests of the last `windowMs`,
 * plus `minPerSecond` for every second of the window (so a quiet client may still retry).
 */
export const DEFAULT_RETRY_BUDGET: Readonly<{ ratio: number; windowMs: number; minPerSecond: number }> = Object.freeze({
  ratio: 0.2,
  windowMs: 10_000,
  minPerSecond: 10,
});

// Server defaults: every ArrpcServerOptions field that has one.

/** Address a server binds when `host` is not given: loopback only. Give '0.0.0.0' to serve other hosts. */
export const DEFAULT_SERVER_HOST = '127.0.0.1';

/** Port a server binds when `port` is not given: 0, a free port the OS picks (read it from `unwrap().address()`). */
export const DEFAULT_SERVER_PORT = 0;

/** Connections a server holds at once; one more is closed as soon as it arrives. */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/**
 * What messages still arriving may hold, over all connections of a server, in the decoder's
 * cost units (about bytes of memory; see {@link DECODED_COST_PER_MESSAGE_BYTE}): 128 MiB.
 * Raised to what one message may cost when `maxMessageBytes` asks for more.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 128 * 1024 * 1024;

/** Milliseconds a message may take from its first byte to its last: 30 s. */
export const DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS = 30_000;

/**
 * Milliseconds a connection with nothing to do may stay open: 0, forever. A Python client keeps
 * one connection for its lifetime and reads a connection closed under it as a `None` answer.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 0;

/** Handlers (requests and events) one connection may have running at once. */
export const DEFAULT_MAX_CONCURRENT_PER_CONNECTION = 64;

/**
 * Milliseconds a TLS client has to finish its handshake before the server closes the connection:
 * 10 s. Node's own default, 120 s, lets a peer that sends a few bytes of a ClientHello hold a
 * connection slot for two minutes.
 */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Milliseconds either side of the server's clock a guarded message's time may be: 0, the replay guard is off. */
export const DEFAULT_REPLAY_WINDOW_MS = 0;

/**
 * Nonces the replay guard remembers at most: 1,000,000, about 90 MB when full. It holds each for
 * about one window (two with skewed clocks), so it admits up to this many messages per window;
 * past that it refuses new guarded messages rather than forget a nonce whose copy it must refuse.
 */
export const DEFAULT_REPLAY_MAX_NONCES = 1_000_000;

/** Milliseconds `close()` lets open connections and running handlers finish: 10 s. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 10_000;

/** The server's own answer to {@link ARRPC_PING_PATTERN} while it serves. */
export const ARRPC_PING_ANSWER = 'SERVING';

/** `transportId` of `ArrpcServer`: `@MessagePattern(pattern, ARRPC_TRANSPORT_ID)` binds a handler to arrpc alone. */
export const ARRPC_TRANSPORT_ID = Symbol.for('nestjs-arrpc');

// Metrics (lib/metrics)

/**
 * The Python reference's metrics port, for parity: pass it as `metricsPort`. Not applied by
 * itself: the standalone `/metrics` listener opens only when `metricsPort` is set.
 */
export const ARRPC_METRICS_PORT = 9095;

/** Path of the standalone listener's and `ArrpcMetricsModule`'s endpoint. */
export const ARRPC_METRICS_PATH = '/metrics';

/**
 * Distinct `reason` values one error (or retry) counter keeps: 100. Reasons are error messages,
 * unbounded; past the bound a new one is recorded as {@link ARRPC_METRICS_OTHER_REASON}.
 */
export const DEFAULT_METRICS_MAX_ERROR_REASONS = 100;

/** The `reason` written for every reason past the bound. */
export const ARRPC_METRICS_OTHER_REASON = 'other';

/** Upper bounds, in seconds, of the opt-in latency histogram's buckets: 0.5 ms to 10 s. */
export const DEFAULT_METRICS_HISTOGRAM_BUCKETS: readonly number[] = Object.freeze([
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);

/** Injection token of the prom-client `Registry` that `ArrpcMetricsModule` serves. */
export const ARRPC_METRICS_REGISTRY = Symbol.for('nestjs-arrpc:metrics-registry');

// Health checks (lib/terminus, the `nestjs-arrpc/terminus` entry)

/**
 * Milliseconds `ArrpcHealthIndicator.pingCheck` gives each endpoint's round trip (connecting
 * included) when no `timeout` is given: 1 s, as terminus' own `pingCheck`.
 */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 1_000;
