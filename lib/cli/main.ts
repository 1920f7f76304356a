#!/usr/bin/env node
// The `nestjs-arrpc` bin: `call` sends one message, `serve` runs an echo server. See `--help`.
// Nest's decorators need the Reflect metadata API before any Nest module loads.
import 'reflect-metadata';
import { createRequire } from 'node:module';
import { processIo, type CliIo } from './cli-io.js';
import { GLOBAL_OPTIONS, parseCommandArgs } from './cli-options.js';
import { CliExitCode, exitCodeOf, formatCliError, HintedError, UsageError } from './exit-codes.js';
import { MAIN_HELP } from './help.js';

type Command = (args: string[], io: CliIo) => Promise<number>;

// Loaded on demand: Nest's modules take most of a second to load, which `--help` need not wait for.
const COMMANDS: Record<string, () => Promise<Command>> = {
  call: async () => (await import('./call-command.js')).runCallCommand,
  serve: async () => (await import('./serve-command.js')).runServeCommand,
};

/** Runs the CLI on `argv` (without `node` and the script) and resolves its exit code; never throws. */
async function runCli(argv: string[], io: CliIo): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const [name, ...rest] = argv;
    const command = name === undefined ? undefined : COMMANDS[name];
    if (command) return await (await command())(rest, io);
    const { values } = parseCommandArgs('', GLOBAL_OPTIONS, name === undefined || name.startsWith('-') ? argv : []);
    if (values.help) {
      io.stdout.write(MAIN_HELP);
      return CliExitCode.Ok;
    }
    if (values.version) {
      io.stdout.write(`${packageVersion()}\n`);
      return CliExitCode.Ok;
    }
    throw new UsageError(
      name === undefined ? `a command is needed: call or serve; see 'nestjs-arrpc --help'` : `unknown command ${JSON.stringify(name)}; see 'nestjs-arrpc --help'`,
    );
  } catch (error) {
    io.stderr.write(`${formatCliError(error)}\n`);
    const failure = error instanceof HintedError ? error.error : error;
    if (debug && failure instanceof Error && failure.stack) io.stderr.write(`${failure.stack}\n`);
    return exitCodeOf(error);
  }
}

/**
 * The version in the package's own package.json. The package imports itself by name (its
 * "exports" lists package.json), which finds that file from dist/lib/cli in the repository
 * and in an installed copy alike.
 */
function packageVersion(): string {
  return (createRequire(import.meta.url)('nestjs-arrpc/package.json') as { version: string }).version;
}

// The exit code is set, not forced with process.exit(): output still being written is not cut off.
process.exitCode = await runCli(process.argv.slice(2), processIo());
