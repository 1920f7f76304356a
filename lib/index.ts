// Public surface of nestjs-arrpc. Named exports only.

// Defaults and reserved names
export {
  ARRPC_DEFAULT_PATTERN,
  ARRPC_PING_PATTERN,
  DECODED_COST_PER_MESSAGE_BYTE,
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
  SharedBudget,
  SignatureKey,
  SignatureKeys,
  buildEnvelope,
  decodeMessage,
  formatRemoteError,
  formatRpcError,
  parseRemoteError,
  readEnvelope,
  signMessage,
  verifyMessage,
  verifySignedMessage,
  widenForPythonReader,
  type DecoderLimits,
  type EncoderOptions,
  type Envelope,
  type EnvelopePattern,
  type RemoteError,
  type SigningSecret,
  type VerifiedMessage,
} from './protocol/index.js';

// Replay guard (PROTOCOL.md part 2)
export {
  GUARD_NONCE_BYTES,
  NonceSource,
  NonceStore,
  guardMessage,
  readGuard,
  type GuardedMessage,
  type ReplayRefusal,
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
  type ArrpcMetricsModuleOptions,
  type ArrpcMetricsOptions,
  type ClientEndpointMetrics,
  type ClientMetricsRecorder,
  type MetricsServerHandle,
  type MetricsServerOptions,
  type ServerConnectionMetrics,
  type ServerMetricsRecorder,
} from './metrics/index.js';
export { type ArrpcMetricsHistogramOptions } from './options/index.js';

// Server
export {
  ARRPC_PING_ANSWER,
  ARRPC_TRANSPORT_ID,
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS,
  DEFAULT_MAX_BUFFERED_BYTES,
  DEFAULT_MAX_CONCURRENT_PER_CONNECTION,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_REPLAY_MAX_NONCES,
  DEFAULT_REPLAY_WINDOW_MS,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
  DEFAULT_TLS_HANDSHAKE_TIMEOUT_MS,
} from './constants.js';
export {
  resolveServerOptions,
  type ArrpcPatternResolver,
  type ArrpcResolvedPattern,
  type ArrpcServerOptions,
  type ResolvedServerOptions,
} from './options/index.js';
export {
  ArrpcContext,
  ArrpcServer,
  ArrpcServerEvent,
  ArrpcServerStatus,
  type ArrpcConnectionInfo,
  type ArrpcContextArgs,
  type ArrpcServerEvents,
} from './server/index.js';

// Client
export {
  ARRPC_RESERVED_META_PREFIX,
  ARRPC_TIMEOUT_META_KEY,
  ArrpcStatus,
  DEFAULT_BALANCE,
  DEFAULT_CLIENT_HOST,
  DEFAULT_CON_MAX_RETRIES,
  DEFAULT_EJECT_AFTER_FAILURES,
  DEFAULT_EJECTION_BACKOFF_MAX_MS,
  DEFAULT_EJECTION_BACKOFF_MS,
  DEFAULT_HEAD_OF_LINE_MS,
  DEFAULT_MAX_QUEUED,
  DEFAULT_NESTJS_ARRPC_PIPELINE,
  DEFAULT_PEER,
  DEFAULT_PIPELINE,
  DEFAULT_POOL_SIZE,
  DEFAULT_PROBE_TIMEOUT_MS,
  DEFAULT_RESOLVE_INTERVAL_MS,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_BUDGET,
} from './constants.js';
export {
  resolveClientOptions,
  type ArrpcBalance,
  type ArrpcClientOptions,
  type ArrpcEndpointAddress,
  type ArrpcLookup,
  type ArrpcPeer,
  type ArrpcProbe,
  type ArrpcResolve,
  type ArrpcRetryBudget,
  type ResolvedClientOptions,
} from './options/index.js';
export {
  ArrpcClient,
  ArrpcModule,
  ConnectionPool,
  type ArrpcCallOptions,
  type ArrpcClientEvents,
  type ArrpcEndpointDownReason,
  type ArrpcEndpointState,
  type ArrpcEndpointUpReason,
  type ArrpcModuleExtras,
  type Connection,
  type Endpoint,
} from './client/index.js';

// Errors a client call ends with
export {
  ArrpcErrorCode,
  ArrpcException,
  AuthException,
  CancelledException,
  ClientClosedException,
  ConnectException,
  ConnectionLostException,
  InvalidResponseException,
  QueueFullException,
  RemoteRpcException,
  RpcTimeoutException,
  UnavailableException,
  UnsendableRequestException,
  type ArrpcConnectAttempt,
  type ArrpcErrorContext,
} from './errors/index.js';

// HTTP apps that call arrpc
export { ArrpcHttpExceptionFilter, httpErrorBody, type ArrpcHttpErrorBody } from './http/index.js';
