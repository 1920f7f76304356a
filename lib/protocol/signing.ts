import { createHmac, timingSafeEqual } from 'node:crypto';
import { decodeMessage, type MessageEncoder } from './codec.js';
import type { DecoderLimits } from './message-decoder.js';
import { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';

/** Key of the hex HMAC in a signed envelope. */
export const SIGNATURE_KEY = 'arrpc.sign';
/** Key of the signed MessagePack bytes in a signed envelope. */
export const SIGNED_DATA_KEY = 'data';

/** The reference's wording, sent after `arrpc.error.AuthException: `. */
export const AUTH_FAILURE_MESSAGE =
  "Invalid or missing message signature, make sure 'auth_secret' is set/correct";

const SIGNATURE_HEX_LENGTH = 64;

/** HMAC-SHA256 of `bytes` keyed by the UTF-8 `secret`, as 64 lowercase hex characters. */
export function computeSignature(bytes: Uint8Array, secret: string): string {
  return createHmac('sha256', secret).update(bytes).digest('hex');
}

/**
 * Wraps already-encoded bytes in the reference's signed envelope
 * `{"arrpc.sign": hex, "data": bin}`, keys in that order.
 */
export function signMessage(encoder: MessageEncoder, inner: Uint8Array, secret: string): Buffer {
  return encoder.encode({ [SIGNATURE_KEY]: computeSignature(inner, secret), [SIGNED_DATA_KEY]: inner });
}

/**
 * Checks a decoded message against the secret and returns the signed value.
 * Accepts the two keys in either order and nothing else beside them; the
 * signature is compared in constant time. Throws {@link ArrpcProtocolError}
 * `ARRPC_ERR_BAD_SIGNATURE` with the reason, which callers answer with
 * {@link AUTH_FAILURE_MESSAGE}: the peer learns only that it failed.
 */
export function verifyMessage(message: unknown, secret: string, limits?: DecoderLimits): unknown {
  const data = signedData(message);
  const expected = Buffer.from(computeSignature(data, secret), 'latin1');
  const given = Buffer.from((message as Record<string, string>)[SIGNATURE_KEY]!, 'latin1');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw badSignature('the signature does not match');
  }
  try {
    return decodeMessage(data, limits);
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
