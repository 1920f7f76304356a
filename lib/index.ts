// Public surface of nestjs-arrpc. Named exports only.

// Defaults and reserved names
export {
  ARRPC_DEFAULT_PATTERN,
  ARRPC_PING_PATTERN,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_BYTES,
} from './constants.js';

// Wire protocol
export {
  ArrpcProtocolError,
  ArrpcProtocolErrorCode,
  ArrpcTimestamp,
  MessageDecoder,
  MessageEncoder,
  RemoteErrorKind,
  buildEnvelope,
  decodeMessage,
  formatRemoteError,
  formatRpcError,
  parseRemoteError,
  readEnvelope,
  signMessage,
  verifyMessage,
  widenForPythonReader,
  type DecoderLimits,
  type EncoderOptions,
  type Envelope,
  type EnvelopePattern,
  type RemoteError,
} from './protocol/index.js';

// Metrics
export {
  ARRPC_METRICS_OTHER_REASON,
  ARRPC_METRICS_PATH,
  ARRPC_METRICS_PORT,
  ARRPC_METRICS_REGISTRY,
  DEFAULT_METRICS_HISTOGRAM_BUCKETS,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
} from './constants.js';
export {
  ARRPC_METRIC_NAMES,
  ArrpcMetricsModule,
  NOOP_CLIENT_ENDPOINT_METRICS,
  NOOP_CLIENT_METRICS_RECORDER,
  NOOP_SERVER_CONNECTION_METRICS,
  NOOP_SERVER_METRICS_RECORDER,
  createClientMetricsRecorder,
  createServerMetricsRecorder,
  openMetricsServer,
  type ArrpcMetricName,
  type ArrpcMetricsHistogramOptions,
  type ArrpcMetricsModuleOptions,
  type ArrpcMetricsOptions,
  type ClientEndpointMetrics,
  type ClientMetricsRecorder,
  type MetricsServerHandle,
  type MetricsServerOptions,
  type ServerConnectionMetrics,
  type ServerMetricsRecorder,
} from './metrics/index.js';
