import { createHash, hash, timingSafeEqual } from 'node:crypto';
import type { MessageEncoder } from './codec.js';
import { MessageDecoder, type DecoderLimits } from './message-decoder.js';
import { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';

/** Key of the hex HMAC in a signed envelope. */
export const SIGNATURE_KEY = 'arrpc.sign';
/** Key of the signed MessagePack bytes in a signed envelope. */
export const SIGNED_DATA_KEY = 'data';

/** The reference's wording, sent after `arrpc.error.AuthException: `. */
export const AUTH_FAILURE_MESSAGE =
  "Invalid or missing message signature, make sure 'auth_secret' is set/correct";

const SIGNATURE_HEX_LENGTH = 64;
/** What `hexdigest()` writes, and so the only signatures the reference ever accepts. */
const SIGNATURE_TEXT = new RegExp(`^[0-9a-f]{${SIGNATURE_HEX_LENGTH}}$`);

/** SHA-256's block and digest sizes, in bytes. */
const BLOCK_BYTES = 64;
const DIGEST_BYTES = 32;
/** Messages up to this size are hashed from one reused buffer; larger ones are streamed. */
const SCRATCH_BYTES = 4096;

/**
 * A secret made ready for HMAC-SHA256 (RFC 2104) once, for every message
 * signed or checked with it. `createHmac` sets up a new OpenSSL HMAC context
 * from the secret on every call, which costs more than hashing a small
 * message; here the padded keys are built once and each message takes two
 * one-shot hashes over buffers that are reused. Equal to `createHmac` for
 * every secret and message (test/unit/protocol/signing.spec.ts checks it).
 */
export class SignatureKey {
  /** The key XOR ipad, then room for a message. */
  private readonly inner = Buffer.alloc(BLOCK_BYTES + SCRATCH_BYTES);
  /** The key XOR opad, then the inner digest. */
  private readonly outer = Buffer.alloc(BLOCK_BYTES + DIGEST_BYTES, 0x5c);
  /** The expected and the given signature side by side, compared in place. */
  private readonly compared = Buffer.alloc(2 * SIGNATURE_HEX_LENGTH);
  private readonly expected = this.compared.subarray(0, SIGNATURE_HEX_LENGTH);
  private readonly given = this.compared.subarray(SIGNATURE_HEX_LENGTH);

  /** `secret` is taken as UTF-8, as the reference encodes its `auth_secret`. */
  constructor(secret: string) {
    let key: Buffer = Buffer.from(secret, 'utf8');
    if (key.length > BLOCK_BYTES) key = createHash('sha256').update(key).digest();
    this.inner.fill(0x36, 0, BLOCK_BYTES);
    for (let i = 0; i < key.length; i++) {
      this.inner[i]! ^= key[i]!;
      this.outer[i]! ^= key[i]!;
    }
  }

  /**
   * HMAC-SHA256 of `bytes`, as 64 lowercase hex characters. The inner digest travels as a
   * `binary` (latin1) string, one char a byte: `hash()` returns a string much faster than a Buffer.
   */
  sign(bytes: Uint8Array): string {
    let innerDigest: string;
    if (bytes.length <= SCRATCH_BYTES) {
      this.inner.set(bytes, BLOCK_BYTES);
      innerDigest = hash('sha256', this.inner.subarray(0, BLOCK_BYTES + bytes.length), 'binary');
    } else {
      innerDigest = createHash('sha256').update(this.inner.subarray(0, BLOCK_BYTES)).update(bytes).digest('binary');
    }
    this.outer.write(innerDigest, BLOCK_BYTES, 'latin1');
    return hash('sha256', this.outer, 'hex');
  }

  /** True when `signature` is the signature of `bytes`; compared in constant time. */
  matches(bytes: Uint8Array, signature: string): boolean {
    // Checked first, and in its own time: only the peer's own text decides how long this takes.
    if (!SIGNATURE_TEXT.test(signature)) return false;
    this.expected.write(this.sign(bytes), 'latin1');
    this.given.write(signature, 'latin1');
    return timingSafeEqual(this.expected, this.given);
  }
}

/**
 * The secrets a server accepts during a rotation, `[current, ...previous]`,
 * each made ready once: {@link match} accepts a signature made with any of
 * them (a client signs with the first alone). So a fleet rotates with no
 * outage: servers take `[new, old]`, then clients switch to `new`, then
 * servers drop `old`.
 */
export class SignatureKeys {
  private readonly keys: readonly SignatureKey[];

  /** `secrets` are taken as UTF-8; at least one. */
  constructor(secrets: readonly string[]) {
    if (secrets.length === 0) throw new RangeError('SignatureKeys needs at least one secret');
    this.keys = secrets.map((secret) => new SignatureKey(secret));
  }

  /**
   * The position of the secret `signature` was made with, or -1. Every secret
   * is checked, each in constant time, whichever matches: how long this takes
   * says nothing about which one did.
   */
  match(bytes: Uint8Array, signature: string): number {
    let position = -1;
    for (let i = 0; i < this.keys.length; i++) {
      const matches = this.keys[i]!.matches(bytes, signature);
      position = matches && position < 0 ? i : position;
    }
    return position;
  }
}

/** A secret as given, or made ready once with {@link SignatureKey}. */
export type SigningSecret = string | SignatureKey;

/** The key of the last secret given as a string: callers give the same one call after call. */
let lastSecret: string | undefined;
let lastKey: SignatureKey | undefined;

function keyOf(secret: SigningSecret): SignatureKey {
  if (typeof secret !== 'string') return secret;
  if (lastKey === undefined || secret !== lastSecret) {
    lastKey = new SignatureKey(secret);
    lastSecret = secret;
  }
  return lastKey;
}

/** HMAC-SHA256 of `bytes` keyed by the UTF-8 `secret`, as 64 lowercase hex characters. */
export function computeSignature(bytes: Uint8Array, secret: SigningSecret): string {
  return keyOf(secret).sign(bytes);
}

/**
 * Wraps already-encoded bytes in the reference's signed envelope
 * `{"arrpc.sign": hex, "data": bin}`, keys in that order.
 */
export function signMessage(encoder: MessageEncoder, inner: Uint8Array, secret: SigningSecret): Buffer {
  return encoder.encode({ [SIGNATURE_KEY]: computeSignature(inner, secret), [SIGNED_DATA_KEY]: inner });
}

/**
 * Checks a decoded message against the secret and returns the signed value,
 * decoded under `limits`, or by `decoder` (one that holds no partial message,
 * reused across calls). Accepts the two keys in either order and nothing else
 * beside them; the signature is compared in constant time. Throws {@link ArrpcProtocolError}
 * `ARRPC_ERR_BAD_SIGNATURE` with the reason, which callers answer with
 * {@link AUTH_FAILURE_MESSAGE}: the peer learns only that it failed.
 */
export function verifyMessage(message: unknown, secret: SigningSecret, decoder?: DecoderLimits | MessageDecoder): unknown {
  const data = signedData(message);
  if (!keyOf(secret).matches(data, (message as Record<string, string>)[SIGNATURE_KEY]!)) {
    throw badSignature('the signature does not match');
  }
  return decodeSigned(data, decoder);
}

/** A message that passed {@link verifySignedMessage}. */
export interface VerifiedMessage {
  /** The signed value, decoded. */
  readonly value: unknown;
  /** The position in the {@link SignatureKeys} of the secret it was signed with. */
  readonly secretIndex: number;
}

/**
 * {@link verifyMessage} against every secret of a rotation: accepts a message
 * signed with any of them and says which. Throws as `verifyMessage` does.
 */
export function verifySignedMessage(message: unknown, keys: SignatureKeys, decoder: MessageDecoder): VerifiedMessage {
  const data = signedData(message);
  const secretIndex = keys.match(data, (message as Record<string, string>)[SIGNATURE_KEY]!);
  if (secretIndex < 0) throw badSignature('the signature does not match');
  return { value: decodeSigned(data, decoder), secretIndex };
}

/** The signed bytes as one value; bytes that are not one are a bad signature. */
function decodeSigned(data: Uint8Array, decoder: DecoderLimits | MessageDecoder | undefined): unknown {
  try {
    return (decoder instanceof MessageDecoder ? decoder : new MessageDecoder(decoder)).decodeWhole(data);
  } catch (error) {
    throw badSignature(`the signed data is not one valid value: ${(error as Error).message}`);
  }
}

/** The envelope's `data`, once its shape is right. */
function signedData(message: unknown): Uint8Array {
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw badSignature('the message is not a signed envelope');
  }
  const envelope = message as Record<string, unknown>;
  const keys = Object.keys(envelope);
  if (keys.length !== 2 || !Object.hasOwn(envelope, SIGNATURE_KEY) || !Object.hasOwn(envelope, SIGNED_DATA_KEY)) {
    throw badSignature(`a signed envelope holds exactly "${SIGNATURE_KEY}" and "${SIGNED_DATA_KEY}"`);
  }
  const signature = envelope[SIGNATURE_KEY];
  if (typeof signature !== 'string' || signature.length !== SIGNATURE_HEX_LENGTH) {
    throw badSignature(`"${SIGNATURE_KEY}" must be a str of ${SIGNATURE_HEX_LENGTH} hex characters`);
  }
  const data = envelope[SIGNED_DATA_KEY];
  if (!(data instanceof Uint8Array)) throw badSignature(`"${SIGNED_DATA_KEY}" must be bin`);
  return data;
}

function badSignature(reason: string): ArrpcProtocolError {
  return new ArrpcProtocolError(ArrpcProtocolErrorCode.BadSignature, reason);
}
