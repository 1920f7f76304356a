import type * as tls from 'node:tls';
import type { ClientMetricsRecorder } from '../metrics/index.js';
import type { ConnectionSettings } from './connection.js';
import type { EjectionSettings } from './ejection.js';
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
  readonly connection: Omit<ConnectionSettings, 'endpoint'>;
  /** The client's recorder; the no-op one with metrics off. */
  readonly recorder: ClientMetricsRecorder;
  /** `maxConnectionAgeMs`; `undefined` when off. */
  readonly maxConnectionAgeMs: number | undefined;
  readonly ejection: EjectionSettings;
  readonly probe: ProbeSettings;
  /** For the connection age jitter. */
  readonly random: RandomSource;
}
