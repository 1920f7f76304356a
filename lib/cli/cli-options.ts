import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exit-codes.js';

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

/** What `parseArgs` returns for `options` in strict mode with positionals. */
export type ParsedCommandArgs<T extends OptionSpecs> = ReturnType<
  typeof parseArgs<{ options: T; strict: true; allowPositionals: true }>
>;

/** `call --timeout` when none is given, in ms: a CLI should not wait forever on a peer that never answers. */
export const CLI_DEFAULT_TIMEOUT_MS = 10_000;

/** `call --retries` when none is given: one attempt, as curl makes; Python's client makes 5. */
export const CLI_DEFAULT_RETRIES = 1;

/** `serve --port` when none is given: the port of the Python guide's examples. */
export const CLI_DEFAULT_SERVE_PORT = 8080;

/**
 * How long `serve` drains on a signal, in ms. Short: an echo answers at once,
 * and what a longer drain would wait for is an idle Python client, which keeps
 * its connection open for its whole life.
 */
export const CLI_SERVE_DRAIN_TIMEOUT_MS = 1000;

/** Flags of `nestjs-arrpc call`; the help text in `help.ts` documents each. */
export const CALL_OPTIONS = {
  pattern: { type: 'string' },
  event: { type: 'string' },
  secret: { type: 'string' },
  'tls-ca': { type: 'string' },
  'self-signed': { type: 'boolean' },
  timeout: { type: 'string' },
  retries: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** Flags of `nestjs-arrpc serve`. */
export const SERVE_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  secret: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

/** Flags before the command. */
export const GLOBAL_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const satisfies OptionSpecs;

/** The commands and their flags, for help texts and the docs test (test/readme.spec.ts). */
export const CLI_COMMANDS = { call: CALL_OPTIONS, serve: SERVE_OPTIONS } as const;

/**
 * `parseArgs` in strict mode, its errors turned into one-line `UsageError`s
 * that point at the command's `--help`.
 */
export function parseCommandArgs<T extends OptionSpecs>(command: string, options: T, args: string[]): ParsedCommandArgs<T> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    // Node's messages go on with advice about '--' in a second sentence; the first says it all.
    const first = (error as Error).message.split(/\.\s/)[0]!.replace(/\.$/, '');
    throw new UsageError(`${first}; see 'nestjs-arrpc ${command ? `${command} ` : ''}--help'`);
  }
}

/** `HOST:PORT`, `[IPv6]:PORT`, or `PORT` alone (127.0.0.1). */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !(port >= 1 && port <= 65_535)) {
    throw new UsageError(`expected HOST:PORT with a port from 1 to 65535, got ${JSON.stringify(text)}`);
  }
  return { host: match[1] || match[2] || '127.0.0.1', port };
}

/** A whole number from a flag, within bounds. */
export function parseInteger(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** `--secret`, else `$ARRPC_AUTH_SECRET`; an empty secret is refused, as by the options. */
export function secretFrom(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const secret = flag ?? env['ARRPC_AUTH_SECRET'];
  if (secret === '') throw new UsageError('the secret is empty: give --secret a value, or unset ARRPC_AUTH_SECRET');
  return secret;
}
