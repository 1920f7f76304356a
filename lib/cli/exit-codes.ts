// Types only from lib/errors: its classes load @nestjs/microservices, which `--help` need not wait for.
import type { ArrpcErrorCode } from '../errors/index.js';
import { ArrpcProtocolError } from '../protocol/index.js';

/**
 * The CLI's exit codes, one per kind of failure, so scripts can tell a remote
 * `RpcException` from a server that is down. Listed in `--help` and docs/cli.md.
 */
export const CliExitCode = {
  /** The answer was printed (`call`), or the server stopped on a signal (`serve`). */
  Ok: 0,
  /** The handler raised `RpcException` (`RemoteRpcException`). */
  Remote: 1,
  /** A bad flag, a missing argument, or a message that is not (tagged) JSON or cannot be sent (`UnsendableRequestException`). */
  Usage: 2,
  /** No connection after `--retries` attempts (`ConnectException`); `serve` could not listen. */
  Connect: 3,
  /** `--timeout` passed, or the server's deadline did (`RpcTimeoutException`). */
  Timeout: 4,
  /** The server refused the signature (`AuthException`): `--secret` is missing or wrong. */
  Auth: 5,
  /** The exchange broke: connection lost, an unreadable answer, or a draining server. */
  Exchange: 6,
  /** A bug: anything else. `--debug` prints its stack. */
  Internal: 70,
} as const;

export type CliExitCode = (typeof CliExitCode)[keyof typeof CliExitCode];

/** A mistake on the command line; its message says what, in one line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** A server that could not start listening (`serve`). */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

/** A command's error with advice for the user: printed after the error's line, and exits as the error does. */
export class HintedError extends Error {
  override readonly name = 'HintedError';

  constructor(
    readonly error: unknown,
    readonly hint: string,
  ) {
    super(hint, { cause: error });
  }
}

/** By `ArrpcException.code`; the `Record` type makes the compiler check that every code is here. */
const BY_CLIENT_CODE: Readonly<Record<ArrpcErrorCode, CliExitCode>> = {
  ARRPC_ERR_REMOTE: CliExitCode.Remote,
  ARRPC_ERR_CONNECT: CliExitCode.Connect,
  ARRPC_ERR_TIMEOUT: CliExitCode.Timeout,
  ARRPC_ERR_AUTH: CliExitCode.Auth,
  ARRPC_ERR_CONNECTION_LOST: CliExitCode.Exchange,
  ARRPC_ERR_INVALID_RESPONSE: CliExitCode.Exchange,
  ARRPC_ERR_UNAVAILABLE: CliExitCode.Exchange,
  ARRPC_ERR_CANCELLED: CliExitCode.Exchange,
  ARRPC_ERR_CLIENT_CLOSED: CliExitCode.Exchange,
  ARRPC_ERR_QUEUE_FULL: CliExitCode.Exchange,
  // The message itself cannot be sent to a Python server: the input is at fault, as below.
  ARRPC_ERR_UNSENDABLE: CliExitCode.Usage,
};

/** The exit code for an error a command ended with. */
export function exitCodeOf(error: unknown): CliExitCode {
  if (error instanceof HintedError) return exitCodeOf(error.error);
  if (error instanceof UsageError) return CliExitCode.Usage;
  if (error instanceof ListenError) return CliExitCode.Connect;
  // The message itself has no MessagePack form (nested too deep, say): the input is at fault.
  if (error instanceof ArrpcProtocolError) return CliExitCode.Usage;
  return BY_CLIENT_CODE[clientCodeOf(error) as ArrpcErrorCode] ?? CliExitCode.Internal;
}

/**
 * True for how a plaintext call to a TLS server ends: the server closes on a request it
 * cannot read as a TLS record (ConnectionLostException), waits for the rest of one shorter
 * than a record header (a timeout of the call itself, not the server's deadline), or sends
 * an alert, which does not read as an answer (InvalidResponseException). A crashed or slow
 * server ends the same way, so the hint only says "may".
 */
export function mayBeTlsServer(error: unknown): boolean {
  const code = clientCodeOf(error);
  if (code === 'ARRPC_ERR_TIMEOUT') return (error as { remote?: unknown }).remote !== true;
  return code === 'ARRPC_ERR_CONNECTION_LOST' || code === 'ARRPC_ERR_INVALID_RESPONSE';
}

/** The `code` of an `ArrpcException`, undefined for any other error. */
function clientCodeOf(error: unknown): string | undefined {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && Object.hasOwn(BY_CLIENT_CODE, code) ? code : undefined;
}

/**
 * `ErrorClassName: message` on one line. A `ConnectException` adds its last
 * attempt's cause (`ECONNREFUSED`, a TLS refusal...), which says why.
 */
export function formatCliError(error: unknown): string {
  if (error instanceof HintedError) return `${formatCliError(error.error)} (${error.hint})`;
  if (!(error instanceof Error)) return `Error: ${oneLine(String(error))}`;
  let message = error.message;
  if (clientCodeOf(error) === 'ARRPC_ERR_CONNECT' && error.cause instanceof Error) {
    message += `: ${error.cause.message}`;
  }
  return `${error.name}: ${oneLine(message)}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
