// What ArrpcServer and ArrpcClient call to record metrics. Neither imports prom-client: they hold
// one of these interfaces, the no-op by default, a Prometheus one when `metrics: true`.
// Everything here is called on hot paths: implementations resolve label sets once and keep them.

/** What a server records into. Get one per server; call {@link forConnection} once per connection. */
export interface ServerMetricsRecorder {
  /** `false` for the no-op: a server may skip timing requests altogether. */
  readonly enabled: boolean;
  /**
   * The metrics of one accepted connection. `remoteAddress` is the socket's `remoteAddress` as
   * Node gives it (an IPv4-mapped `::ffff:a.b.c.d` is written `a.b.c.d`, as the reference does);
   * `tls` whether the connection is TLS. Connections from the same peer share one object.
   */
  forConnection(remoteAddress: string | undefined, tls: boolean): ServerConnectionMetrics;
}

/** One connection's metrics (labels `remote_address` and `tls` fixed). */
export interface ServerConnectionMetrics {
  /**
   * One answered request, failed ones included (they also call {@link error}).
   * @param handlerFunc the Nest handler's method name; `''` when none ran
   * @param pattern the request's pattern as a string (only the opt-in histogram uses it; it is
   *   recorded as `''` when `handlerFunc` is `''`, so unknown patterns cannot grow it)
   * @param signed whether the request was signed and verified
   * @param seconds from the whole request being read to its answer being written
   * @param bytes the request's size as received, envelope and signature included
   */
  request(handlerFunc: string, pattern: string, signed: boolean, seconds: number, bytes: number): void;
  /**
   * One failed request. `reason` is the error's message (bounded: past `maxErrorReasons`
   * distinct values it is recorded as `other`).
   */
  error(handlerFunc: string, signed: boolean, reason: string): void;
  /**
   * Beyond the reference: one request verified with the secret at `position` of the server's
   * `authSecret` (0 the current one), after {@link request}. Called only when `authSecret` is set.
   */
  secret(position: number): void;
}

/** What a client records into. Get one per client; call {@link forEndpoint} once per endpoint. */
export interface ClientMetricsRecorder {
  /** `false` for the no-op: a client may skip timing requests altogether. */
  readonly enabled: boolean;
  /**
   * The metrics of one endpoint. `remoteAddress` is `host:port` as configured (the reference's
   * format); `''` for what belongs to no endpoint (every endpoint ejected, say). Endpoints with
   * the same three values share one object.
   */
  forEndpoint(remoteAddress: string, signed: boolean, tls: boolean): ClientEndpointMetrics;
}

/** One endpoint's metrics (labels `remote_address`, `signed_payload`, `tls` fixed). */
export interface ClientEndpointMetrics {
  /**
   * One written request, whatever its outcome (failed ones also call {@link error}).
   * @param pattern the request's pattern as a string (only the opt-in histogram uses it)
   * @param seconds from the call to its outcome
   * @param bytes the request's size as written, envelope and signature included
   */
  request(pattern: string, seconds: number, bytes: number): void;
  /** One failed call, written or not; `reason` is bounded as on the server. */
  error(reason: string): void;
  /**
   * One attempt made again (beyond the reference); `reason` is what was retried (`connect`:
   * a connection attempt), bounded likewise.
   */
  retry(reason: string): void;
}

const noop = (): void => {};

/** The no-op connection metrics: every call does nothing. */
export const NOOP_SERVER_CONNECTION_METRICS: ServerConnectionMetrics = Object.freeze({ request: noop, error: noop, secret: noop });

/** The server's default recorder when metrics are off. */
export const NOOP_SERVER_METRICS_RECORDER: ServerMetricsRecorder = Object.freeze({
  enabled: false,
  forConnection: () => NOOP_SERVER_CONNECTION_METRICS,
});

/** The no-op endpoint metrics: every call does nothing. */
export const NOOP_CLIENT_ENDPOINT_METRICS: ClientEndpointMetrics = Object.freeze({
  request: noop,
  error: noop,
  retry: noop,
});

/** The client's default recorder when metrics are off. */
export const NOOP_CLIENT_METRICS_RECORDER: ClientMetricsRecorder = Object.freeze({
  enabled: false,
  forEndpoint: () => NOOP_CLIENT_ENDPOINT_METRICS,
});
