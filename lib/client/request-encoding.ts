import { ARRPC_DEFAULT_PATTERN, ARRPC_RESERVED_META_PREFIX, ARRPC_TIMEOUT_META_KEY } from '../constants.js';
import { UnsendableRequestException, type ArrpcErrorContext } from '../errors/index.js';
import type { ResolvedClientOptions } from '../options/index.js';
import {
  ArrpcProtocolError,
  ArrpcProtocolErrorCode,
  buildEnvelope,
  guardMessage,
  NonceSource,
  peerProfile,
  SignatureKey,
  signMessage,
  type EnvelopePattern,
  type MessageEncoder,
  type PeerProfile,
  type RemoteErrorKind,
} from '../protocol/index.js';
import type { OutgoingMessage } from './pending-request.js';

/** What shapes a request's bytes besides the call itself. */
export interface RequestEncoding {
  /** `authSecret`, made ready once for every request. */
  readonly signingKey: SignatureKey | undefined;
  /** The `peer` option's rules: how a request's bytes are framed, and what its answers can mean. */
  readonly profile: PeerProfile;
  /**
   * Nonces of the replay guard, which signed requests to a `'nestjs-arrpc'` peer carry with the
   * time they were written; `undefined` when requests are unsigned or go to a Python peer.
   */
  readonly nonces: NonceSource | undefined;
}

/** The encoding the options ask for; one per client, shared by its connections and probes. */
export function createRequestEncoding(options: Pick<ResolvedClientOptions, 'authSecret' | 'peer'>): RequestEncoding {
  const signed = options.authSecret !== undefined;
  return {
    signingKey: signed ? new SignatureKey(options.authSecret) : undefined,
    profile: peerProfile(options.peer),
    nonces: signed && options.peer === 'nestjs-arrpc' ? new NonceSource() : undefined,
  };
}

/**
 * The bytes of one request, as written. The default pattern writes the data
 * raw, as a Python client does; any other pattern is wrapped in an envelope
 * carrying `meta`. With a secret the whole message is signed (with the replay
 * guard's time and nonce inside, toward a `'nestjs-arrpc'` peer), and bytes for a
 * Python peer are kept off the lengths its reader cannot see.
 */
export function encodeRequest(
  encoder: MessageEncoder,
  message: OutgoingMessage,
  remainingMs: number | undefined,
  encoding: RequestEncoding,
): Buffer {
  const value =
    message.pattern === ARRPC_DEFAULT_PATTERN
      ? message.data
      : buildEnvelope(message.kind, message.pattern as EnvelopePattern, message.data, envelopeMeta(message, remainingMs));
  const { nonces } = encoding;
  const inner = encoder.encode(nonces === undefined ? value : guardMessage(value, Date.now(), nonces.next()));
  const bytes = encoding.signingKey === undefined ? inner : signMessage(encoder, inner, encoding.signingKey);
  return encoding.profile.frame(bytes);
}

/**
 * The error kinds the answer to `message` can carry (the default pattern writes it raw). On a
 * connection that has carried envelopes the server is an `ArrpcServer`, whose drain notice may
 * stand where a raw message's answer was awaited (it wrote the notice as the message arrived):
 * there, every kind is read.
 */
export function answerErrorKinds(encoding: RequestEncoding, message: OutgoingMessage, carriedEnvelopes = false): readonly RemoteErrorKind[] {
  return encoding.profile.errorKinds(carriedEnvelopes || message.pattern !== ARRPC_DEFAULT_PATTERN);
}

/**
 * What a call whose bytes {@link encodeRequest} could not make fails with: a length the peer
 * could never read is the typed `UnsendableRequestException`; a value with no MessagePack form
 * stays the `ArrpcProtocolError` it is.
 */
export function encodingFailure(error: Error, context: ArrpcErrorContext): Error {
  const unreadable = error instanceof ArrpcProtocolError && error.code === ArrpcProtocolErrorCode.UnreadableLength;
  return unreadable ? new UnsendableRequestException(context, error) : error;
}

/**
 * The hook's metadata without reserved `arrpc-` keys or non-str values (a
 * server ignores a whole `meta` that is not str to str), plus the remaining
 * time of a request. `undefined` when there is nothing to write.
 */
function envelopeMeta(message: OutgoingMessage, remainingMs: number | undefined): Record<string, string> | undefined {
  const withTimeout = remainingMs !== undefined && message.kind === 'request';
  if (message.metadata === undefined && !withTimeout) return undefined;
  // No prototype: a `__proto__` key from the hook stays an ordinary key.
  const meta: Record<string, string> = Object.create(null);
  for (const [key, value] of Object.entries(message.metadata ?? {})) {
    if (!key.startsWith(ARRPC_RESERVED_META_PREFIX) && typeof value === 'string') meta[key] = value;
  }
  if (withTimeout) meta[ARRPC_TIMEOUT_META_KEY] = String(remainingMs);
  return meta;
}
