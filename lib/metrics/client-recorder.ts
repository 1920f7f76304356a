import { hostLabels } from './host-labels.js';
import {
  ARRPC_METRIC_NAMES,
  CLIENT_ERROR_LABELS,
  CLIENT_HISTOGRAM_LABELS,
  CLIENT_REQUEST_LABELS,
  pythonBool,
} from './metric-names.js';
import { resolveMetricsOptions, type ArrpcMetricsOptions } from './metrics-options.js';
import type { ClientEndpointMetrics, ClientMetricsRecorder } from './recorder.js';
import { PatternChildren, ReasonChildren, sharedCounter, sharedHistogram, sharedSummary } from './registry-metrics.js';
import type { SumCountChild } from './sum-count-summary.js';

/**
 * A recorder writing the reference's client metrics (`arrpc_client_req_seconds`,
 * `arrpc_client_req_bytes`, `arrpc_client_errors_total`), plus `arrpc_client_retries_total` and
 * the opt-in histogram, into `options.registry` (default: prom-client's global registry).
 * Options are checked here, once.
 */
export function createClientMetricsRecorder(options?: ArrpcMetricsOptions): ClientMetricsRecorder {
  const { registry, histogramBuckets, maxErrorReasons } = resolveMetricsOptions(options);
  const seconds = sharedSummary(registry, ARRPC_METRIC_NAMES.clientReqSeconds, CLIENT_REQUEST_LABELS);
  const bytes = sharedSummary(registry, ARRPC_METRIC_NAMES.clientReqBytes, CLIENT_REQUEST_LABELS);
  const errors = sharedCounter(registry, ARRPC_METRIC_NAMES.clientErrors, CLIENT_ERROR_LABELS);
  const retries = sharedCounter(registry, ARRPC_METRIC_NAMES.clientRetries, CLIENT_ERROR_LABELS);
  const durations =
    histogramBuckets === null
      ? null
      : sharedHistogram(registry, ARRPC_METRIC_NAMES.clientReqDurationSeconds, CLIENT_HISTOGRAM_LABELS, histogramBuckets);

  const endpoints = new Map<string, EndpointMetrics>();
  return {
    enabled: true,
    forEndpoint(remoteAddress: string, signed: boolean, tls: boolean): ClientEndpointMetrics {
      const key = `${signed ? 'T' : 'F'}${tls ? 'T' : 'F'}${remoteAddress}`;
      let endpoint = endpoints.get(key);
      if (endpoint === undefined) {
        const { hostname, k8sNamespace } = hostLabels();
        const labels = {
          hostname,
          k8s_namespace: k8sNamespace,
          remote_address: remoteAddress,
          signed_payload: pythonBool(signed),
          tls: pythonBool(tls),
        };
        endpoint = new EndpointMetrics(
          seconds.labels(labels),
          bytes.labels(labels),
          new ReasonChildren(errors, CLIENT_ERROR_LABELS, labels, maxErrorReasons),
          new ReasonChildren(retries, CLIENT_ERROR_LABELS, labels, maxErrorReasons),
          durations === null ? null : new PatternChildren(durations, CLIENT_HISTOGRAM_LABELS, labels),
        );
        endpoints.set(key, endpoint);
      }
      return endpoint;
    },
  };
}

/** One endpoint's children, all resolved when it is first asked for. */
class EndpointMetrics implements ClientEndpointMetrics {
  constructor(
    private readonly seconds: SumCountChild,
    private readonly bytes: SumCountChild,
    private readonly errors: ReasonChildren,
    private readonly retries: ReasonChildren,
    private readonly durations: PatternChildren | null,
  ) {}

  request(pattern: string, seconds: number, bytes: number): void {
    this.seconds.observe(seconds);
    this.bytes.observe(bytes);
    this.durations?.observe(pattern, seconds);
  }

  error(reason: string): void {
    this.errors.inc(reason);
  }

  retry(reason: string): void {
    this.retries.inc(reason);
  }
}
