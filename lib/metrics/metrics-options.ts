import { register, type Registry } from 'prom-client';
import { DEFAULT_METRICS_HISTOGRAM_BUCKETS, DEFAULT_METRICS_MAX_ERROR_REASONS } from '../constants.js';
import { areHistogramBuckets } from '../options/histogram-buckets.js';

/** The opt-in latency histogram. */
export interface ArrpcMetricsHistogramOptions {
  /**
   * Upper bounds of the buckets, in seconds, strictly increasing (`+Inf` is added).
   * Defaults to `DEFAULT_METRICS_HISTOGRAM_BUCKETS` (0.5 ms to 10 s).
   */
  readonly buckets?: readonly number[];
}

/**
 * What the Prometheus recorders take (`createServerMetricsRecorder`, `createClientMetricsRecorder`).
 * Every field is optional; the defaults write exactly the reference's metrics.
 */
export interface ArrpcMetricsOptions {
  /**
   * The prom-client registry the metrics live in. Defaults to prom-client's global `register`:
   * the one `PrometheusModule` (and so `ArrpcMetricsModule`) serves. Every server and client
   * given the same registry shares the same metrics: one scrape shows them all.
   */
  readonly registry?: Registry;
  /**
   * Beyond the reference: also record latency in a histogram (`arrpc_server_req_duration_seconds`,
   * `arrpc_client_req_duration_seconds`) with a `pattern` label. Summaries cannot be aggregated
   * across replicas; histograms can. `true` uses the default buckets. Defaults to `false`.
   * When several recorders share a registry, the first to create the histogram sets its buckets.
   */
  readonly histogram?: boolean | ArrpcMetricsHistogramOptions;
  /**
   * Beyond the reference: how many distinct `reason` values one counter keeps (errors; retries).
   * Reasons are error messages and unbounded; past this many, a new reason is recorded as
   * `other`. Defaults to `DEFAULT_METRICS_MAX_ERROR_REASONS` (100); 0 records every reason as
   * `other`.
   */
  readonly maxErrorReasons?: number;
}

/** {@link ArrpcMetricsOptions} checked, with every default filled in. */
export interface ResolvedMetricsOptions {
  readonly registry: Registry;
  /** `null` when the histogram is off. */
  readonly histogramBuckets: readonly number[] | null;
  readonly maxErrorReasons: number;
}

/**
 * Checks `options` once and fills in the defaults. Throws a `TypeError` naming the option and the
 * value it refused.
 */
export function resolveMetricsOptions(options: ArrpcMetricsOptions = {}): ResolvedMetricsOptions {
  if (options === null || typeof options !== 'object') throw invalid('', 'an object', options);
  const registry = options.registry ?? register;
  if (typeof registry !== 'object' || registry === null || typeof registry.getSingleMetric !== 'function') {
    throw invalid('registry', 'a prom-client Registry', registry);
  }
  const maxErrorReasons = options.maxErrorReasons ?? DEFAULT_METRICS_MAX_ERROR_REASONS;
  if (!Number.isSafeInteger(maxErrorReasons) || maxErrorReasons < 0) {
    throw invalid('maxErrorReasons', 'an integer, 0 or more', maxErrorReasons);
  }
  return Object.freeze({ registry, histogramBuckets: resolveBuckets(options.histogram), maxErrorReasons });
}

function resolveBuckets(histogram: ArrpcMetricsOptions['histogram']): readonly number[] | null {
  if (histogram === undefined || histogram === false) return null;
  if (histogram === true) return DEFAULT_METRICS_HISTOGRAM_BUCKETS;
  if (histogram === null || typeof histogram !== 'object') {
    throw invalid('histogram', 'a boolean or { buckets }', histogram);
  }
  const buckets = histogram.buckets ?? DEFAULT_METRICS_HISTOGRAM_BUCKETS;
  if (!areHistogramBuckets(buckets)) {
    throw invalid('histogram.buckets', 'a non-empty array of finite, strictly increasing numbers', buckets);
  }
  return Object.freeze([...buckets]);
}

function invalid(name: string, expected: string, value: unknown): TypeError {
  const what = name === '' ? 'arrpc metrics options' : `arrpc metrics option "${name}"`;
  return new TypeError(`Invalid ${what}: expected ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return String(value);
  return value.constructor?.name ?? 'an object';
}
