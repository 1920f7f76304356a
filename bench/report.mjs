// What both load generators print: one JSON line of results for run.mjs; and the median every
// script takes.

/**
 * Requests/s over the `seconds` a server was loaded, latency percentiles, and the generator's own
 * CPU share over its whole window (`cpuSeconds`, the same as `seconds` unless servers took turns).
 */
export function summarize({ latenciesNs, answered, errors, seconds, cpu, cpuSeconds = seconds, requestBytes }) {
  latenciesNs.sort((a, b) => a - b);
  const percentile = (p) => (latenciesNs[Math.min(latenciesNs.length - 1, Math.floor(p * latenciesNs.length))] ?? 0) / 1e6;
  const loadCpuShare = (cpu.user + cpu.system) / 1e6 / cpuSeconds;
  return {
    requestsPerSecond: Math.round(answered / seconds),
    answered,
    errors,
    seconds,
    p50ms: percentile(0.5),
    p99ms: percentile(0.99),
    requestBytes,
    loadCpuShare,
    // Past 90% of its core the generator, not the server, sets the pace.
    loadGeneratorBound: loadCpuShare > 0.9,
  };
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
