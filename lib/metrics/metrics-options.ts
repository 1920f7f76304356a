import { register, type Registry } from 'prom-client';
import { DEFAULT_METRICS_HISTOGRAM_BUCKETS, DEFAULT_METRICS_MAX_ERROR_REASONS } from '../constants.js';
import type { ArrpcMetricsHistogramOptions } from '../options/histogram-options.js';
import { optionChecks } from '../options/option-checks.js';

const check = optionChecks('metrics recorder');
const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof ArrpcMetricsOptions>(['registry', 'histogram', 'maxErrorReasons']);

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
  readonly registry?: Registry | undefined;
  /**
   * Beyond the reference: also record latency in a histogram (`arrpc_server_req_duration_seconds`,
   * `arrpc_client_req_duration_seconds`) with a `pattern` label. Summaries cannot be aggregated
   * across replicas; histograms can. `true` uses the default buckets. Defaults to `false`.
   * When several recorders share a registry, the first to create the histogram sets its buckets.
   */
  readonly histogram?: boolean | ArrpcMetricsHistogramOptions | undefined;
  /**
   * Beyond the reference: how many distinct `reason` values one counter keeps (errors; retries).
   * Reasons are error messages and unbounded; past this many, a new reason is recorded as
   * `other`. Defaults to `DEFAULT_METRICS_MAX_ERROR_REASONS` (100); 0 records every reason as
   * `other`.
   */
  readonly maxErrorReasons?: number | undefined;
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
  const given = check.knownKeys(options, KNOWN_OPTIONS);
  return Object.freeze({
    registry: check.registry('registry', given.registry ?? register),
    histogramBuckets: histogramBuckets(check.histogram('histogram', given.histogram ?? false)),
    maxErrorReasons: check.integer('maxErrorReasons', given.maxErrorReasons ?? DEFAULT_METRICS_MAX_ERROR_REASONS, 0),
  });
}

function histogramBuckets(histogram: boolean | ArrpcMetricsHistogramOptions): readonly number[] | null {
  if (histogram === false) return null;
  return histogram === true ? DEFAULT_METRICS_HISTOGRAM_BUCKETS : (histogram.buckets ?? DEFAULT_METRICS_HISTOGRAM_BUCKETS);
}
