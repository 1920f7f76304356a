// Prometheus metrics: the recorder interface server and client call, its prom-client
// implementations, the standalone /metrics listener and the Nest module.
export { ArrpcMetricsModule, type ArrpcMetricsModuleOptions } from './arrpc-metrics.module.js';
export { createClientMetricsRecorder } from './client-recorder.js';
export { ARRPC_METRIC_NAMES, type ArrpcMetricName } from './metric-names.js';
export { type ArrpcMetricsOptions } from './metrics-options.js';
export { openMetricsServer, type MetricsServerHandle, type MetricsServerOptions } from './metrics-server.js';
export {
  NOOP_CLIENT_ENDPOINT_METRICS,
  NOOP_CLIENT_METRICS_RECORDER,
  NOOP_SERVER_CONNECTION_METRICS,
  NOOP_SERVER_METRICS_RECORDER,
  type ClientEndpointMetrics,
  type ClientMetricsRecorder,
  type ServerConnectionMetrics,
  type ServerMetricsRecorder,
} from './recorder.js';
export { createServerMetricsRecorder } from './server-recorder.js';
