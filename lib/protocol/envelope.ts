import { ArrpcProtocolError, ArrpcProtocolErrorCode } from './protocol-error.js';

/** Key holding the pattern of a Nest request. */
export const PATTERN_KEY = 'arrpc.pattern';
/** Key holding the pattern of a Nest event. */
export const EVENT_KEY = 'arrpc.event';
/** Key holding the payload of an envelope. */
export const DATA_KEY = 'data';
/** Key holding string metadata (trace ids, the caller's remaining time). */
export const META_KEY = 'meta';

/** A pattern as written on the wire: a str, or a map Nest normalises. */
export type EnvelopePattern = string | Record<string, unknown>;

export type EnvelopeKind = 'request' | 'event';

/** A Nest request or event, as read from a message. */
export interface Envelope {
  kind: EnvelopeKind;
  pattern: EnvelopePattern;
  data: unknown;
  /** The `meta` map, when it is a map of str to str. */
  meta: Record<string, string> | undefined;
  /** True when a `meta` was present but not a map of str to str, and so ignored. */
  metaIgnored: boolean;
}

/**
 * The map this project's client writes for a non-default pattern: the
 * pattern key first, then `data`, then `meta` when there is any.
 */
export function buildEnvelope(
  kind: EnvelopeKind,
  pattern: EnvelopePattern,
  data: unknown,
  meta?: Record<string, string>,
): Record<string, unknown> {
  const envelope: Record<string, unknown> = { [kind === 'request' ? PATTERN_KEY : EVENT_KEY]: pattern, [DATA_KEY]: data };
  if (meta !== undefined && Object.keys(meta).length > 0) envelope[META_KEY] = meta;
  return envelope;
}

/**
 * Tells an envelope from a plain message: `undefined` for a plain one (what
 * Python clients send). Throws {@link ArrpcProtocolError}
 * `ARRPC_ERR_INVALID_ENVELOPE` for an envelope the protocol refuses.
 */
export function readEnvelope(message: unknown): Envelope | undefined {
  if (message === null || typeof message !== 'object' || Array.isArray(message) || message instanceof Uint8Array) {
    return undefined;
  }
  const map = message as Record<string, unknown>;
  const isRequest = Object.hasOwn(map, PATTERN_KEY);
  const isEvent = Object.hasOwn(map, EVENT_KEY);
  if (!isRequest && !isEvent) return undefined;
  if (isRequest && isEvent) {
    throw invalidEnvelope(`an envelope holds "${PATTERN_KEY}" or "${EVENT_KEY}", not both`);
  }
  const pattern = map[isRequest ? PATTERN_KEY : EVENT_KEY];
  if (!isPattern(pattern)) throw invalidEnvelope('the pattern must be a str or a map');
  const meta = map[META_KEY];
  const metaValid = meta === undefined || isStringMap(meta);
  return {
    kind: isRequest ? 'request' : 'event',
    pattern,
    data: map[DATA_KEY] ?? null,
    meta: metaValid ? (meta as Record<string, string> | undefined) : undefined,
    metaIgnored: !metaValid,
  };
}

function isPattern(value: unknown): value is EnvelopePattern {
  return typeof value === 'string' || isPlainMap(value);
}

function isStringMap(value: unknown): value is Record<string, string> {
  return isPlainMap(value) && Object.values(value).every((item) => typeof item === 'string');
}

function isPlainMap(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === 'object' &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

function invalidEnvelope(reason: string): ArrpcProtocolError {
  return new ArrpcProtocolError(ArrpcProtocolErrorCode.InvalidEnvelope, reason);
}
