// The arrpc wire protocol: pure functions and classes over bytes, no I/O.
export { MessageEncoder, decodeMessage, type EncoderOptions } from './codec.js';
export { MessageDecoder, type DecoderLimits, type MessageHandler } from './message-decoder.js';
export { ArrpcTimestamp, TIMESTAMP_EXT_TYPE } from './timestamp.js';
export { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';
export {
  AUTH_FAILURE_MESSAGE,
  SIGNATURE_KEY,
  SIGNED_DATA_KEY,
  SignatureKey,
  computeSignature,
  signMessage,
  verifyMessage,
  type SigningSecret,
} from './signing.js';
export {
  ERROR_PREFIX,
  RemoteErrorKind,
  formatRemoteError,
  formatRpcError,
  parseRemoteError,
  type RemoteError,
} from './error-strings.js';
export {
  DATA_KEY,
  EVENT_KEY,
  META_KEY,
  PATTERN_KEY,
  buildEnvelope,
  readEnvelope,
  type Envelope,
  type EnvelopeKind,
  type EnvelopePattern,
} from './envelope.js';
export { PYTHON_READ_BYTES, widenForPythonReader } from './python-reader.js';
export { peerProfile, type ArrpcPeer, type PeerProfile } from './peer-profile.js';
