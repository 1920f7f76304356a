import { firstValueFrom } from 'rxjs';
import type { ArrpcClient } from '../client/index.js';
import { ARRPC_DEFAULT_PATTERN } from '../constants.js';
import type { ArrpcClientOptions } from '../options/index.js';
import type { CliIo } from './cli-io.js';
import {
  CALL_OPTIONS,
  CLI_DEFAULT_RETRIES,
  CLI_DEFAULT_TIMEOUT_MS,
  parseCommandArgs,
  parseHostPort,
  parseInteger,
  secretFrom,
} from './cli-options.js';
import { CliExitCode, HintedError, mayBeTlsServer, UsageError } from './exit-codes.js';
import { CALL_HELP } from './help.js';
import { fromTaggedJson, toTaggedJson } from './tagged-json.js';

/**
 * `nestjs-arrpc call [options] HOST:PORT JSON`: sends one message, prints the
 * answer as tagged JSON on one line and resolves 0; rejects with the call's
 * error (mapped to an exit code by `exitCodeOf`).
 */
export async function runCallCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('call', CALL_OPTIONS, args);
  if (values.help) {
    io.stdout.write(CALL_HELP);
    return CliExitCode.Ok;
  }
  const [target, json, ...extra] = positionals;
  if (target === undefined || json === undefined) {
    throw new UsageError(`call needs HOST:PORT and a JSON message; see 'nestjs-arrpc call --help'`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])} after the message`);
  if (values.pattern !== undefined && values.event !== undefined) {
    throw new UsageError('--pattern and --event exclude each other');
  }
  if (values['self-signed'] && values['tls-ca'] === undefined) {
    throw new UsageError('--self-signed needs --tls-ca FILE: the certificate to accept');
  }
  const pattern = parsePattern(values.event ?? values.pattern);
  const message = parseMessage(json === '-' ? await io.readStdin() : json);
  const client = await createClient({
    ...parseHostPort(target),
    timeout: timeoutFrom(values.timeout),
    conMaxRetries: values.retries === undefined ? CLI_DEFAULT_RETRIES : parseInteger('retries', values.retries, 1, 1000),
    authSecret: secretFrom(values.secret, io.env),
    tlsCaFile: values['tls-ca'],
    tlsSelfSigned: values['self-signed'],
    debug: values.debug,
  });
  try {
    const answer =
      values.event !== undefined ? await firstValueFrom(client.emit(pattern, message)) : await client.call(pattern, message);
    io.stdout.write(`${JSON.stringify(toTaggedJson(answer))}\n`);
    return CliExitCode.Ok;
  } catch (error) {
    throw values['tls-ca'] === undefined && mayBeTlsServer(error) ? new HintedError(error, PLAINTEXT_HINT) : error;
  } finally {
    await client.close();
  }
}

/** After an error that a TLS server answering a plaintext call would cause too. */
const PLAINTEXT_HINT = 'plaintext call: the server may speak TLS; try --tls-ca FILE';

/** The message: JSON, then the tags read into bytes, bigints, maps... */
function parseMessage(text: string): unknown {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the message is not JSON: ${(error as Error).message}`);
  }
  try {
    return fromTaggedJson(json);
  } catch (error) {
    throw new UsageError(`the message has a bad tag: ${(error as Error).message}`);
  }
}

/**
 * `--pattern` / `--event`: a name, or a JSON object for a Nest object pattern
 * (`{"cmd":"sum"}`); without either, the default pattern (the message goes raw).
 */
function parsePattern(text: string | undefined): string | Record<string, unknown> {
  if (text === undefined) return ARRPC_DEFAULT_PATTERN;
  if (!text.startsWith('{')) return text;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`the pattern starts with "{" but is not a JSON object: ${(error as Error).message}`);
  }
}

function timeoutFrom(flag: string | undefined): number | undefined {
  if (flag === undefined) return CLI_DEFAULT_TIMEOUT_MS;
  const ms = parseInteger('timeout', flag, 0, 2 ** 31 - 1);
  return ms === 0 ? undefined : ms;
}

/**
 * The client, its option errors (an unreadable --tls-ca file, say) turned into usage errors.
 * Imported only now, so `--help` and usage errors do not wait for Nest to load.
 */
async function createClient(options: ArrpcClientOptions): Promise<ArrpcClient> {
  const { ArrpcClient } = await import('../client/index.js');
  try {
    return new ArrpcClient(options);
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
}
