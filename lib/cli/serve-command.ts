import {
  CLI_DEFAULT_SERVE_PORT,
  CLI_SERVE_DRAIN_TIMEOUT_MS,
  parseCommandArgs,
  parseInteger,
  secretFrom,
  SERVE_OPTIONS,
} from './cli-options.js';
import type { CliIo } from './cli-io.js';
import { CliExitCode, UsageError } from './exit-codes.js';
import { SERVE_HELP } from './help.js';

/**
 * `nestjs-arrpc serve [options]`: an echo server until SIGINT or SIGTERM.
 * Prints `listening on HOST:PORT (tls on|off, auth on|off)`; resolves 0 once it has closed.
 */
export async function runServeCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs('serve', SERVE_OPTIONS, args);
  if (values.help) {
    io.stdout.write(SERVE_HELP);
    return CliExitCode.Ok;
  }
  if (positionals.length > 0) throw new UsageError(`serve takes no arguments, got ${JSON.stringify(positionals[0])}`);
  if ((values['tls-cert'] === undefined) !== (values['tls-key'] === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  const authSecret = secretFrom(values.secret, io.env);
  const port = values.port === undefined ? CLI_DEFAULT_SERVE_PORT : parseInteger('port', values.port, 0, 65_535);
  // Nest loads only now: usage errors above come back at once.
  const { startEchoServer } = await import('./echo-server.js');
  const server = await startEchoServer({
    host: values.host ?? '127.0.0.1',
    port,
    authSecret,
    tlsCertFile: values['tls-cert'],
    tlsKeyFile: values['tls-key'],
    debug: values.debug ?? false,
    drainTimeoutMs: CLI_SERVE_DRAIN_TIMEOUT_MS,
  });
  const { address } = server.address;
  const host = address.includes(':') ? `[${address}]` : address;
  const tls = values['tls-cert'] === undefined ? 'off' : 'on';
  io.stdout.write(`listening on ${host}:${server.address.port} (tls ${tls}, auth ${authSecret === undefined ? 'off' : 'on'})\n`);
  await untilSignal();
  await server.close();
  io.stdout.write('stopped\n');
  return CliExitCode.Ok;
}

/** Resolves on the first SIGINT or SIGTERM; a second one exits at once (130), not waiting for the drain. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      process.once('SIGINT', () => process.exit(130)).once('SIGTERM', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
}
