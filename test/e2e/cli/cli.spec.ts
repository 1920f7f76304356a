// The `nestjs-arrpc` bin, run as a child process (`node dist/lib/cli/main.js`, what `npx nestjs-arrpc`
// runs): its output and exit code for success, for each error class, and for bad input.
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, MessageEncoder, decodeMessage } from '../../../lib/index.js';
import { CALL_OPTIONS, GLOBAL_OPTIONS, SERVE_OPTIONS } from '../../../lib/cli/cli-options.js';
import { CALL_HELP } from '../../../lib/cli/help.js';
import { buildSampleAndCli, CLI_ENTRY } from '../../support/build.js';
import { getTestCerts, writeCertFiles, type CertFiles } from '../../support/certs.js';
import { killAll, NodeProcess, runNode, type RunResult } from '../../support/processes.js';
import { pythonStyleCall } from '../../support/python-client.js';
import { startPythonPeer, type PythonPeer } from '../../support/python-peer.js';
import { freeServerClose, listen, unusedPort } from '../../support/sockets.js';
import { startHttpServer, type ScriptedServer } from '../client/helpers.js';
import { REPO_ROOT } from '../../support/vectors.js';
import { startServer, type TestServer } from '../server/helpers.js';

const TLS_HINT = 'plaintext call: the server may speak TLS; try --tls-ca FILE';
const AUTH_MESSAGE = "Invalid or missing message signature, make sure 'auth_secret' is set/correct";
const events: unknown[] = [];

@Controller()
class TargetController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Payload() message: unknown): unknown {
    const raise = (message as { raise?: string } | null)?.raise;
    if (raise !== undefined) throw new RpcException(raise);
    return message;
  }

  @MessagePattern('slow')
  async slow(): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    return 'late';
  }

  @MessagePattern('named.echo')
  named(@Payload() data: unknown): unknown {
    return { named: data };
  }

  @MessagePattern({ cmd: 'sum' })
  sum(@Payload() numbers: number[]): number {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @EventPattern<string>('noted')
  noted(@Payload() data: unknown): void {
    events.push(data);
  }
}

function cli(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
  // No ARRPC_AUTH_SECRET from the environment running the tests: it is the CLI's default secret.
  return runNode([CLI_ENTRY, ...args], { ...options, env: { ARRPC_AUTH_SECRET: undefined, ...options.env } });
}

/** One line on stderr, and no stack trace. */
function expectOneLineError(result: RunResult, code: number, line: string | RegExp): void {
  expect(result.code, result.stderr).toBe(code);
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n') && result.stderr.split('\n').length === 2, result.stderr).toBe(true);
  expect(result.stderr.trimEnd()).toMatch(typeof line === 'string' ? new RegExp(`^${escape(line)}$`) : line);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let target: TestServer;
let signed: TestServer;
let python: PythonPeer;
let http: ScriptedServer;
let silent: Server;
const silentSockets = new Set<Socket>();
let silentPort: number;
let address: string;

beforeAll(async () => {
  await buildSampleAndCli();
  target = await startServer([TargetController]);
  signed = await startServer([TargetController], { authSecret: 'right' });
  python = await startPythonPeer();
  http = await startHttpServer();
  silent = createServer((socket) => {
    silentSockets.add(socket); // accepts, reads, never answers
    socket.on('error', () => {}); // a caller that gives up resets the connection
  });
  silentPort = await listen(silent);
  address = `127.0.0.1:${target.port}`;
}, 120_000);

afterAll(async () => {
  await killAll();
  await Promise.all([target?.close(), signed?.close(), python?.close(), http?.close(), silent && freeServerClose(silent, silentSockets)]);
});

describe.concurrent('call: success prints the answer as tagged JSON and exits 0', () => {
  it('sends a raw message, as a Python client does', async () => {
    expect(await cli(['call', address, '{"foo": "bar"}'])).toMatchObject({ code: 0, stdout: '{"foo":"bar"}\n', stderr: '' });
  });

  it('reads and writes the bin and int tags', async () => {
    const message = '{"b": {"$bin": "00ff"}, "big": {"$int": "18446744073709551615"}, "neg": {"$int": "-9223372036854775808"}}';
    const result = await cli(['call', address, message]);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(result.stdout)).toEqual({ b: { $bin: '00ff' }, big: { $int: '18446744073709551615' }, neg: { $int: '-9223372036854775808' } });
  });

  it('writes a whole-valued float back as an int, and keeps inf, nan and -0.0 tagged', async () => {
    const result = await cli(['call', address, '[{"$float": "2.0"}, {"$float": "inf"}, {"$float": "nan"}, {"$float": "-0.0"}, 1.5]']);
    expect(result.stdout).toBe('[2,{"$float":"inf"},{"$float":"nan"},{"$float":"-0.0"},1.5]\n');
  });

  it('sends to a --pattern, by name or as a JSON object pattern', async () => {
    expect(await cli(['call', address, '--pattern', 'named.echo', '[1, "two"]'])).toMatchObject({ code: 0, stdout: '{"named":[1,"two"]}\n' });
    expect(await cli(['call', '--pattern', '{"cmd": "sum"}', address, '[1, 2, 3]'])).toMatchObject({ code: 0, stdout: '6\n' });
  });

  it('emits an --event and prints the acknowledgement', async () => {
    expect(await cli(['call', address, '--event', 'noted', '{"n": 1}'])).toMatchObject({ code: 0, stdout: 'null\n' });
    expect(events).toContainEqual({ n: 1 });
  });

  it('reads the message from stdin with "-", and takes PORT alone', async () => {
    expect(await cli(['call', String(target.port), '-'], { input: '{"from": "stdin"}' })).toMatchObject({ code: 0, stdout: '{"from":"stdin"}\n' });
  });

  it('signs with --secret, or with $ARRPC_AUTH_SECRET', async () => {
    const to = `127.0.0.1:${signed.port}`;
    expect(await cli(['call', to, '--secret', 'right', '"x"'])).toMatchObject({ code: 0, stdout: '"x"\n' });
    expect(await cli(['call', to, '"y"'], { env: { ARRPC_AUTH_SECRET: 'right' } })).toMatchObject({ code: 0, stdout: '"y"\n' });
  });

  it('calls a Python-style server raw, with the bytes a Python client writes', async () => {
    expect(await cli(['call', `127.0.0.1:${python.port}`, '{"return": [1, {"$bin": "01"}]}'])).toMatchObject({ code: 0, stdout: '[1,{"$bin":"01"}]\n' });
    expect(python.requests.at(-1)).toEqual(Buffer.from(new MessageEncoder().encode({ return: [1, new Uint8Array([1])] })));
  });
});

describe('the $map example of --help', () => {
  it('is a map a peer accepts: an ArrpcServer and a Python server answer it', async () => {
    const example = /\{"\$map": .*?\]\]\}/.exec(CALL_HELP)![0];
    expect(await cli(['call', address, example])).toMatchObject({ code: 0, stdout: '{"k":1}\n', stderr: '' });
    const fromPython = await cli(['call', `127.0.0.1:${python.port}`, `{"return": ${example}}`]);
    expect(fromPython).toMatchObject({ code: 0, stdout: '{"k":1}\n', stderr: '' });
  });
});

describe.concurrent('call: each error class exits with its code and one line on stderr', () => {
  it('RemoteRpcException (the handler raised RpcException): 1', async () => {
    expectOneLineError(await cli(['call', address, '{"raise": "out of stock"}']), 1, 'RemoteRpcException: out of stock');
    expectOneLineError(
      await cli(['call', address, '--pattern', 'no.such', 'null']),
      1,
      'RemoteRpcException: There is no matching message handler defined in the remote service.',
    );
  });

  it('AuthException (a wrong or missing --secret): 5', async () => {
    const to = `127.0.0.1:${signed.port}`;
    expectOneLineError(await cli(['call', to, '--secret', 'wrong', '1']), 5, `AuthException: ${AUTH_MESSAGE}`);
    expectOneLineError(await cli(['call', to, '1']), 5, `AuthException: ${AUTH_MESSAGE}`);
  });

  it('RpcTimeoutException (--timeout against a peer that never answers): 4', async () => {
    const started = Date.now();
    expectOneLineError(await cli(['call', `127.0.0.1:${silentPort}`, '--timeout', '300', '1']), 4, `RpcTimeoutException: Timed out (${TLS_HINT})`);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('ConnectException (a closed port, --retries 1): 3, with the cause', async () => {
    const port = await unusedPort();
    expectOneLineError(
      await cli(['call', `127.0.0.1:${port}`, '--retries', '1', '1']),
      3,
      `ConnectException: Failed to connect to 127.0.0.1:${port} with 1 attempts: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it('InvalidResponseException (a wrong port: an HTTP server answers HTTP/1.1 400): 6, not its "H" printed as 72', async () => {
    expectOneLineError(
      await cli(['call', `127.0.0.1:${http.port}`, '{"sku":"apple"}']),
      6,
      /^InvalidResponseException: Invalid response from 127\.0\.0\.1:\d+: the server sent bytes past the answer to the request in flight/,
    );
  });

  it('ConnectionLostException (the server dropped the connection, as Python does on a crash): 6', async () => {
    expectOneLineError(await cli(['call', `127.0.0.1:${python.port}`, '{"crash": 1}']), 6, /^ConnectionLostException: Connection to 127\.0\.0\.1:\d+ lost/);
  });
});

describe('call: a plaintext call to a TLS server says the server may speak TLS', () => {
  let certs: CertFiles;
  let tlsServer: TestServer;
  let to: string;
  beforeAll(async () => {
    certs = await writeCertFiles();
    tlsServer = await startServer([TargetController], { tls: getTestCerts().server });
    to = `127.0.0.1:${tlsServer.port}`;
  });
  afterAll(async () => {
    await tlsServer?.close();
    await certs?.cleanup();
  });

  it('when the server closes on a request it reads as a bad TLS record: 6', async () => {
    expectOneLineError(await cli(['call', to, '{"foo": "bar"}']), 6, new RegExp(`^ConnectionLostException: Connection to ${escape(to)} lost.* \\(${escape(TLS_HINT)}\\)$`));
  });

  it('when the server waits for the rest of a request shorter than a TLS record header: 4', async () => {
    expectOneLineError(await cli(['call', to, '--timeout', '500', '1']), 4, `RpcTimeoutException: Timed out (${TLS_HINT})`);
  });

  it('and not when the call was TLS', async () => {
    const args = ['call', to, '--tls-ca', certs.files.ca.certFile, '--timeout', '300', '--pattern', 'slow', 'null'];
    expectOneLineError(await cli(args), 4, 'RpcTimeoutException: Timed out');
  });
});

describe.concurrent('bad input: exit 2, one line, no stack trace', () => {
  it.each([
    ['an unknown flag', ['call', '--nope', '127.0.0.1:1', '1'], "UsageError: Unknown option '--nope'; see 'nestjs-arrpc call --help'"],
    ['a flag missing its value', ['call', '127.0.0.1:1', '1', '--timeout'], /^UsageError: Option '--timeout <value>' argument missing; see/],
    ['unparseable JSON', ['call', '127.0.0.1:1', '{foo'], /^UsageError: the message is not JSON: /],
    ['a bad tag', ['call', '127.0.0.1:1', '{"$float": "many"}'], /^UsageError: the message has a bad tag: "\$float" must be a Python float repr/],
    ['a $bin that is not hex', ['call', '127.0.0.1:1', '{"$bin": "zz"}'], 'UsageError: the message has a bad tag: "$bin" must be hex digits in pairs, not "zz"'],
    ['no message', ['call', '127.0.0.1:1'], "UsageError: call needs HOST:PORT and a JSON message; see 'nestjs-arrpc call --help'"],
    ['no arguments', ['call'], "UsageError: call needs HOST:PORT and a JSON message; see 'nestjs-arrpc call --help'"],
    ['an extra argument', ['call', '127.0.0.1:1', '1', '2'], 'UsageError: unexpected argument "2" after the message'],
    ['a bad address', ['call', 'localhost', '1'], 'UsageError: expected HOST:PORT with a port from 1 to 65535, got "localhost"'],
    ['a bad --timeout', ['call', '127.0.0.1:1', '--timeout', '1.5s', '1'], 'UsageError: --timeout must be a whole number from 0 to 2147483647, got "1.5s"'],
    ['--retries 0', ['call', '127.0.0.1:1', '--retries', '0', '1'], 'UsageError: --retries must be a whole number from 1 to 1000, got "0"'],
    ['a bad object pattern', ['call', '127.0.0.1:1', '--pattern', '{cmd', '1'], /^UsageError: the pattern starts with "\{" but is not a JSON object: /],
    ['--pattern with --event', ['call', '127.0.0.1:1', '--pattern', 'a', '--event', 'b', '1'], 'UsageError: --pattern and --event exclude each other'],
    ['--self-signed alone', ['call', '127.0.0.1:1', '--self-signed', '1'], 'UsageError: --self-signed needs --tls-ca FILE: the certificate to accept'],
    ['a missing --tls-ca file', ['call', '127.0.0.1:1', '--tls-ca', '/no/such.crt', '1'], /^UsageError: Invalid ArrpcClient option "tlsCaFile": cannot read "\/no\/such\.crt"/],
    ['an empty secret', ['call', '127.0.0.1:1', '--secret', '', '1'], 'UsageError: the secret is empty: give --secret a value, or unset ARRPC_AUTH_SECRET'],
    ['an empty entry in a secret list', ['call', '127.0.0.1:1', '--secret', 'new,', '1'], 'UsageError: the secret list has an empty entry (entries 1): separate secrets with single commas'],
    ['an unknown command', ['cal'], `UsageError: unknown command "cal"; see 'nestjs-arrpc --help'`],
    ['no command', [], "UsageError: a command is needed: call or serve; see 'nestjs-arrpc --help'"],
    ['serve with a bad port', ['serve', '--port', 'http'], 'UsageError: --port must be a whole number from 0 to 65535, got "http"'],
    ['serve with --tls-cert alone', ['serve', '--tls-cert', 'a.crt'], 'UsageError: --tls-cert and --tls-key go together'],
    ['serve with an argument', ['serve', '8080'], 'UsageError: serve takes no arguments, got "8080"'],
  ])('%s', async (_case, args, line) => {
    expectOneLineError(await cli(args), 2, line);
  });
});

describe.concurrent('--help documents every flag and exits 0', () => {
  it.each([
    ['nestjs-arrpc --help', ['--help'], ['call', 'serve', ...Object.keys(GLOBAL_OPTIONS).map((flag) => `--${flag}`)]],
    ['nestjs-arrpc call --help', ['call', '--help'], Object.keys(CALL_OPTIONS).map((flag) => `--${flag}`)],
    ['nestjs-arrpc serve --help', ['serve', '-h'], Object.keys(SERVE_OPTIONS).map((flag) => `--${flag}`)],
  ])('%s', async (_case, args, mentions) => {
    const result = await cli(args);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    for (const word of [...mentions, 'Exit codes:']) expect(result.stdout).toContain(word);
  });
});

describe.concurrent('--version prints the version of package.json and exits 0', () => {
  it.each([['--version'], ['-v']])('%s', async (flag) => {
    const { version } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(await cli([flag])).toEqual({ code: 0, signal: null, stdout: `${version}\n`, stderr: '' });
  });
});

describe('serve: an echo server until SIGINT or SIGTERM', () => {
  let certs: CertFiles;
  beforeAll(async () => {
    certs = await writeCertFiles();
  });
  afterAll(() => certs?.cleanup());

  async function serve(args: string[]): Promise<{ server: NodeProcess; port: number }> {
    const server = new NodeProcess([CLI_ENTRY, 'serve', '--port', '0', ...args], { ARRPC_AUTH_SECRET: undefined });
    const match = await server.waitForLine(/^listening on 127\.0\.0\.1:(\d+) \(tls (on|off), auth (on|off)\)$/);
    return { server, port: Number(match[1]) };
  }

  it('echoes what a Python client and the CLI send, and stops on SIGTERM with 0', async () => {
    const { server, port } = await serve([]);
    const bytes = new MessageEncoder().encode({ foo: 'bar' });
    expect(decodeMessage((await pythonStyleCall(port, bytes)) as Buffer)).toEqual({ foo: 'bar' });
    expect(await cli(['call', `127.0.0.1:${port}`, '{"$bin": "0001"}'])).toMatchObject({ code: 0, stdout: '{"$bin":"0001"}\n' });
    expect(await server.stop('SIGTERM', 5000)).toMatchObject({ code: 0, signal: null });
    expect(server.stdout).toMatch(/stopped\n$/);
    expect(server.stderr).toBe('');
  });

  it('requires the --secret, serves TLS, and stops on SIGINT with 0', async () => {
    const { certFile, keyFile } = certs.files.server;
    const { server, port } = await serve(['--secret', 'k', '--tls-cert', certFile, '--tls-key', keyFile]);
    expect(server.stdout).toContain('(tls on, auth on)');
    const to = `127.0.0.1:${port}`;
    const ca = certs.files.ca.certFile;
    expect(await cli(['call', to, '--tls-ca', ca, '--secret', 'k', '[1]'])).toMatchObject({ code: 0, stdout: '[1]\n' });
    expectOneLineError(await cli(['call', to, '--tls-ca', ca, '[1]']), 5, `AuthException: ${AUTH_MESSAGE}`);
    // A certificate the client does not trust: no connection.
    expectOneLineError(await cli(['call', to, '--tls-ca', certs.files.otherCa.certFile, '--secret', 'k', '[1]']), 3, /^ConnectException: Failed to connect to .* with 1 attempts: /);
    expect(await server.stop('SIGINT', 5000)).toMatchObject({ code: 0, signal: null });
  });

  it('serves either secret of --secret NEW,OLD, and a call signs with the first of a list', async () => {
    const { server, port } = await serve(['--secret', 'new,old']);
    const to = `127.0.0.1:${port}`;
    expect(await cli(['call', to, '--secret', 'old', '1'])).toMatchObject({ code: 0, stdout: '1\n' });
    expectOneLineError(await cli(['call', to, '--secret', 'unknown,new', '4']), 5, `AuthException: ${AUTH_MESSAGE}`);
    expect(await server.stop('SIGTERM', 5000)).toMatchObject({ code: 0, signal: null });
  });

  it('exits 3 when the port is taken', async () => {
    const taken = createServer();
    const port = await listen(taken);
    try {
      expectOneLineError(await cli(['serve', '--port', String(port)]), 3, /^ListenError: listen EADDRINUSE: address already in use 127\.0\.0\.1:\d+$/);
    } finally {
      await freeServerClose(taken);
    }
  });
});
