// The arrpc wire protocol: pure functions and classes over bytes, no I/O.
export { MessageEncoder, decodeMessage, type EncoderOptions } from './codec.js';
export { MessageDecoder, type DecoderLimits, type MessageHandler } from './message-decoder.js';
export { SharedBudget } from './shared-budget.js';
export { ArrpcTimestamp, TIMESTAMP_EXT_TYPE } from './timestamp.js';
export { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';
export {
  AUTH_FAILURE_MESSAGE,
  SIGNATURE_KEY,
  SIGNED_DATA_KEY,
  SignatureKey,
  SignatureKeys,
  computeSignature,
  signMessage,
  verifyMessage,
  verifySignedMessage,
  type SigningSecret,
  type VerifiedMessage,
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
export { PYTHON_READ_BYTES, isPythonReadable, widenForPythonReader } from './python-reader.js';
export {
  GUARD_DATA_KEY,
  GUARD_NONCE_BYTES,
  GUARD_NONCE_KEY,
  GUARD_TIME_KEY,
  NonceSource,
  NonceStore,
  guardMessage,
  readGuard,
  type GuardedMessage,
  type ReplayRefusal,
} from './replay-guard.js';
export { peerProfile, type ArrpcPeer, type PeerProfile } from './peer-profile.js';
