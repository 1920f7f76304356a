/**
 * Stable codes of the wire-level errors. Match on these, never on messages.
 */
export const ArrpcProtocolErrorCode = {
  /**
   * A message, or a length it claims, exceeds `maxMessageBytes`; or what it decodes to (its
   * bytes plus a charge per value and per container) exceeds
   * `DECODED_COST_PER_MESSAGE_BYTE` times that.
   */
  MaxMessageBytes: 'ARRPC_ERR_MAX_MESSAGE_BYTES',
  /** Messages still arriving, over all connections of a server, would hold more than `maxBufferedBytes`. */
  MaxBufferedBytes: 'ARRPC_ERR_MAX_BUFFERED_BYTES',
  /** Arrays and maps nest deeper than `maxDepth`. */
  MaxDepth: 'ARRPC_ERR_MAX_DEPTH',
  /** A byte that starts no MessagePack value (0xc1). */
  InvalidByte: 'ARRPC_ERR_INVALID_BYTE',
  /** A one-shot decode got fewer bytes than the value needs. */
  Incomplete: 'ARRPC_ERR_INCOMPLETE',
  /** A one-shot decode got bytes after the value. */
  ExtraBytes: 'ARRPC_ERR_EXTRA_BYTES',
  /** A complete value the protocol refuses: a map key that is not str or bin. */
  InvalidMapKey: 'ARRPC_ERR_INVALID_MAP_KEY',
  /** A Nest envelope whose pattern is neither str nor map. */
  InvalidEnvelope: 'ARRPC_ERR_INVALID_ENVELOPE',
  /** A signed envelope that is missing, malformed or does not verify. */
  BadSignature: 'ARRPC_ERR_BAD_SIGNATURE',
  /** A JS value with no MessagePack form (function, symbol, bigint past 64 bits). */
  Unencodable: 'ARRPC_ERR_UNENCODABLE',
  /**
   * A message for a Python peer whose length is a multiple of 4096 bytes with no header to
   * widen (a bare str, bin or ext at its widest form): the reference would never read it whole.
   */
  UnreadableLength: 'ARRPC_ERR_UNREADABLE_LENGTH',
} as const;

export type ArrpcProtocolErrorCode =
  (typeof ArrpcProtocolErrorCode)[keyof typeof ArrpcProtocolErrorCode];

/**
 * An input that breaks the wire protocol or one of its limits. `limit` and
 * `value` say which bound was crossed and by what, where that applies.
 */
export class ArrpcProtocolError extends Error {
  override readonly name = 'ArrpcProtocolError';

  constructor(
    readonly code: ArrpcProtocolErrorCode,
    message: string,
    readonly limit?: number,
    readonly value?: number,
  ) {
    super(message);
  }
}

/** Builds the error for a crossed limit, with a message naming both numbers. */
export function limitError(
  code: ArrpcProtocolErrorCode,
  what: string,
  value: number,
  limit: number,
): ArrpcProtocolError {
  return new ArrpcProtocolError(code, `${what} ${value} exceeds the limit of ${limit}`, limit, value);
}
