// Shared by the server's, the client's and the metrics' option checks; free of prom-client, so
// resolving options never loads it.

/** True for a non-empty array of finite, strictly increasing numbers: what prom-client takes as buckets. */
export function areHistogramBuckets(value: unknown): value is readonly number[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((b: unknown, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > value[i - 1]))
  );
}
