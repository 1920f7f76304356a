// The latency histogram's options, shared by the server's, the client's and the metrics
// recorders' options. Here rather than in lib/metrics, so options never import metrics.

/** The opt-in latency histogram. */
export interface ArrpcMetricsHistogramOptions {
  /**
   * Upper bounds of the buckets, in seconds, strictly increasing (`+Inf` is added).
   * Defaults to `DEFAULT_METRICS_HISTOGRAM_BUCKETS` (0.5 ms to 10 s).
   */
  readonly buckets?: readonly number[] | undefined;
}
