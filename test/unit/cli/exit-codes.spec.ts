import { describe, expect, it } from 'vitest';
import {
  ArrpcProtocolError,
  AuthException,
  CancelledException,
  ClientClosedException,
  ConnectException,
  ConnectionLostException,
  InvalidResponseException,
  RemoteErrorKind,
  RemoteRpcException,
  RpcTimeoutException,
  UnavailableException,
  UnsendableRequestException,
} from '../../../lib/index.js';
import { CliExitCode, exitCodeOf, formatCliError, HintedError, ListenError, mayBeTlsServer, UsageError } from '../../../lib/cli/exit-codes.js';

const at = { endpoint: '127.0.0.1:4000', pattern: 'p' };

describe('CLI exit codes', () => {
  it.each([
    ['RemoteRpcException', new RemoteRpcException({ kind: RemoteErrorKind.Rpc, message: 'no', error: 'no' }, at), CliExitCode.Remote],
    ['UsageError', new UsageError('bad flag'), CliExitCode.Usage],
    ['ArrpcProtocolError (an unencodable message)', new ArrpcProtocolError('ARRPC_ERR_MAX_DEPTH', 'too deep'), CliExitCode.Usage],
    ['UnsendableRequestException', new UnsendableRequestException(at, new ArrpcProtocolError('ARRPC_ERR_UNREADABLE_LENGTH', '4096', 4096, 4096)), CliExitCode.Usage],
    ['ConnectException', new ConnectException(at, 1), CliExitCode.Connect],
    ['ListenError', new ListenError('listen EADDRINUSE'), CliExitCode.Connect],
    ['RpcTimeoutException', new RpcTimeoutException(at, 300), CliExitCode.Timeout],
    ['AuthException', new AuthException('refused', at), CliExitCode.Auth],
    ['ConnectionLostException', new ConnectionLostException(at), CliExitCode.Exchange],
    ['InvalidResponseException', new InvalidResponseException(at, new Error('0xc1')), CliExitCode.Exchange],
    ['UnavailableException', new UnavailableException('server is draining', at), CliExitCode.Exchange],
    ['CancelledException', new CancelledException(at), CliExitCode.Exchange],
    ['ClientClosedException', new ClientClosedException(at), CliExitCode.Exchange],
    ['any other error', new RangeError('bug'), CliExitCode.Internal],
    ['an error with an unrelated code', Object.assign(new Error('x'), { code: 'ENOENT' }), CliExitCode.Internal],
    ['a thrown string', 'oops', CliExitCode.Internal],
  ])('%s', (_name, error, code) => {
    expect(exitCodeOf(error)).toBe(code);
  });

  it('of a hinted error are those of the error it carries', () => {
    expect(exitCodeOf(new HintedError(new ConnectionLostException(at), 'hint'))).toBe(CliExitCode.Exchange);
    expect(exitCodeOf(new HintedError(new RpcTimeoutException(at, 300), 'hint'))).toBe(CliExitCode.Timeout);
  });

  it('are distinct for distinct failures', () => {
    const codes = Object.values(CliExitCode);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('CLI error lines', () => {
  it('are the class name and the message, on one line', () => {
    expect(formatCliError(new UsageError('bad'))).toBe('UsageError: bad');
    expect(formatCliError(new RemoteRpcException({ kind: RemoteErrorKind.Rpc, message: 'a\n  b', error: 'a\n  b' }, at))).toBe('RemoteRpcException: a b');
    expect(formatCliError('oops')).toBe('Error: oops');
  });

  it('add the last attempt’s cause to a ConnectException', () => {
    const error = new ConnectException(at, 2, new Error('connect ECONNREFUSED 127.0.0.1:4000'));
    expect(formatCliError(error)).toBe('ConnectException: Failed to connect to 127.0.0.1:4000 with 2 attempts: connect ECONNREFUSED 127.0.0.1:4000');
  });
});

describe('CLI TLS hint', () => {
  it.each([
    ['ConnectionLostException (the server closed on an unreadable TLS record)', new ConnectionLostException(at), true],
    ['InvalidResponseException', new InvalidResponseException(at, new Error('0xc1')), true],
    ['RpcTimeoutException of the call (the server waits for the rest of a record)', new RpcTimeoutException(at, 300), true],
    ["RpcTimeoutException of the server's deadline (it answered)", new RpcTimeoutException(at, undefined, 'deadline passed'), false],
    ['ConnectException', new ConnectException(at, 1), false],
    ['RemoteRpcException', new RemoteRpcException({ kind: RemoteErrorKind.Rpc, message: 'no', error: 'no' }, at), false],
    ['AuthException', new AuthException('refused', at), false],
    ['UsageError', new UsageError('bad'), false],
  ])('%s: %s', (_name, error, hinted) => {
    expect(mayBeTlsServer(error)).toBe(hinted);
  });

  it('follows the error on its line', () => {
    expect(formatCliError(new HintedError(new RpcTimeoutException(at, 300), 'try --tls-ca FILE'))).toBe('RpcTimeoutException: Timed out (try --tls-ca FILE)');
  });
});
