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
