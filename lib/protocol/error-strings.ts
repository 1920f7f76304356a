/** What every arrpc error answer starts with. */
export const ERROR_PREFIX = 'arrpc.error.';

/**
 * The error kinds an answer can carry. The first two are the reference's;
 * the others only this project's server sends (PROTOCOL.md part 2).
 */
export const RemoteErrorKind = {
  Auth: 'AuthException',
  Rpc: 'RpcException',
  Unavailable: 'UnavailableException',
  Timeout: 'RpcTimeoutException',
} as const;

export type RemoteErrorKind = (typeof RemoteErrorKind)[keyof typeof RemoteErrorKind];

/** An error answer, read back. */
export interface RemoteError {
  kind: RemoteErrorKind;
  /** The text after `arrpc.error.<Kind>: `. */
  message: string;
  /** The message, or the object when an `RpcException` carried a JSON object. */
  error: string | object;
}

/** Checked in this order, as the reference client checks Auth before Rpc. */
const KINDS = Object.values(RemoteErrorKind);

/** `arrpc.error.<kind>: <message>`, the str the reference server answers. */
export function formatRemoteError(kind: RemoteErrorKind, message: string): string {
  return `${ERROR_PREFIX}${kind}: ${message}`;
}

/** The answer for an `RpcException`; an object error is written as JSON text. */
export function formatRpcError(error: string | object): string {
  return formatRemoteError(RemoteErrorKind.Rpc, typeof error === 'string' ? error : JSON.stringify(error));
}

/**
 * Reads an answer as the reference client does: a str that *contains*
 * `arrpc.error.<Kind>` is that error, whatever precedes it. Anything else
 * yields `undefined`: it is a plain answer. `kinds` are the kinds the peer
 * can send, in the order they are looked for (default: all, Auth first); a
 * marker of any other kind is plain text.
 */
export function parseRemoteError(answer: unknown, kinds: readonly RemoteErrorKind[] = KINDS): RemoteError | undefined {
  if (typeof answer !== 'string' || !answer.includes(ERROR_PREFIX)) return undefined;
  for (const kind of kinds) {
    const marker = ERROR_PREFIX + kind;
    const at = answer.indexOf(marker);
    if (at === -1) continue;
    let message = answer.slice(at + marker.length);
    if (message.startsWith(': ')) message = message.slice(2);
    return { kind, message, error: kind === RemoteErrorKind.Rpc ? parseObjectError(message) : message };
  }
  return undefined;
}

/** JSON-object text back to the object, as the server wrote it; else the text. */
function parseObjectError(message: string): string | object {
  if (!message.startsWith('{')) return message;
  try {
    const parsed: unknown = JSON.parse(message);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : message;
  } catch {
    return message;
  }
}
