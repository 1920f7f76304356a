import type * as tls from 'node:tls';
import type { ArrpcException, UnavailableException } from '../errors/index.js';
import type { ClientMetricsRecorder } from '../metrics/index.js';
import type { Connection, ConnectionSettings } from './connection.js';
import type { EjectionSettings } from './ejection.js';
import type { Endpoint } from './endpoint.js';
import type { PendingRequest } from './pending-request.js';
import type { RandomSource } from './picker.js';
import type { ProbeSettings } from './probe.js';
import type { BackoffPolicy } from './retry.js';

/**
 * Where an endpoint stands. `idle`: not connected yet; `up`: connected at least once and not
 * ejected since; `ejected`: failed `ejectAfterFailures` times in a row, gets no new requests
 * until a probe succeeds; `draining`: the server answered `UnavailableException`, gets new
 * requests only when no healthy endpoint is left, and is probed like an ejected one;
 * `removed`: no longer in the DNS answer, its connections close once answered.
 */
export type ArrpcEndpointState = 'idle' | 'up' | 'ejected' | 'draining' | 'removed';

/** How an endpoint opens, keeps and probes its connections: the same for every endpoint of a client. */
export interface EndpointSettings {
  /** Connections kept open at most (the `poolSize` option). */
  readonly poolSize: number;
  readonly backoff: BackoffPolicy;
  /** Bounds each connection attempt, in ms. */
  readonly connectTimeoutMs: number | undefined;
  /** `tls.connect` options; `undefined` for plain TCP. */
  readonly tls: tls.ConnectionOptions | undefined;
  readonly connection: Omit<ConnectionSettings, 'endpoint' | 'metrics'>;
  /** The client's recorder; the no-op one with metrics off. */
  readonly recorder: ClientMetricsRecorder;
  /** `maxConnectionAgeMs`; `undefined` when off. */
  readonly maxConnectionAgeMs: number | undefined;
  readonly ejection: EjectionSettings;
  readonly probe: ProbeSettings;
  /** For the connection age jitter. */
  readonly random: RandomSource;
}

/** What an endpoint tells its pool. */
export interface EndpointOwner {
  onOpen(endpoint: Endpoint, connection: Connection): void;
  onRetry(endpoint: Endpoint, attempt: number, delayMs: number, error: Error): void;
  /** A connection attempt failed (its queued requests count it already): they may go elsewhere. */
  onAttemptFailed(endpoint: Endpoint, error: Error): void;
  /** Every attempt of one opening failed (`attempts` of them), with `error` the last one. */
  onGiveUp(endpoint: Endpoint, error: Error, attempts: number): void;
  /** {@link Endpoint.state} changed from `previous`; `error` says why when it went down. */
  onStateChange(endpoint: Endpoint, previous: ArrpcEndpointState, error?: Error): void;
  /** Queued requests nothing here can serve any more (no connection, none opening, none allowed). */
  onStranded(endpoint: Endpoint, requests: PendingRequest[]): void;
  /** A written request was lost with its connection (see `ConnectionOwner.onLost`). */
  onLost(endpoint: Endpoint, request: PendingRequest, error: ArrpcException): void;
  /** A request was answered `UnavailableException`: it never ran. */
  onUnavailable(endpoint: Endpoint, request: PendingRequest, error: UnavailableException): void;
  onClose(endpoint: Endpoint, connection: Connection, error: Error | undefined): void;
  /** A probe failed; the next is due in `delayMs`. */
  onProbeFailed(endpoint: Endpoint, error: Error, delayMs: number): void;
  /** Whether other endpoints could take requests meanwhile (else this one connects on demand only). */
  hasOtherEndpoints(endpoint: Endpoint): boolean;
}
