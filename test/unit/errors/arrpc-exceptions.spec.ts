import { RpcException } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import {
  ArrpcErrorCode,
  ArrpcException,
  AuthException,
  CancelledException,
  ClientClosedException,
  ConnectException,
  ConnectionLostException,
  InvalidResponseException,
  QueueFullException,
  RemoteRpcException,
  RemoteErrorKind,
  RpcTimeoutException,
  UnavailableException,
  UnsendableRequestException,
  parseRemoteError,
  ArrpcProtocolError,
} from '../../../lib/index.js';

const context = { pattern: 'prices.get', endpoint: '10.0.0.1:9000' };
const cause = new Error('root cause');

describe('client exceptions', () => {
  it.each([
    ['AuthException', new AuthException('bad signature', context), ArrpcErrorCode.Auth, 'bad signature'],
    ['RemoteRpcException', new RemoteRpcException(parseRemoteError('arrpc.error.RpcException: nope')!, context), ArrpcErrorCode.Remote, 'nope'],
    ['ConnectException', new ConnectException(context, 5, cause), ArrpcErrorCode.Connect, 'Failed to connect to 10.0.0.1:9000 with 5 attempts'],
    ['RpcTimeoutException', new RpcTimeoutException(context, 250), ArrpcErrorCode.Timeout, 'Timed out'],
    [
      'RpcTimeoutException',
      new RpcTimeoutException(context, 250, undefined, { lastError: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }) }),
      ArrpcErrorCode.Timeout,
      'Timed out while connecting to 10.0.0.1:9000 (last: ECONNREFUSED)',
    ],
    ['RpcTimeoutException', new RpcTimeoutException(context, 250, undefined, { lastError: undefined }), ArrpcErrorCode.Timeout, 'Timed out while connecting to 10.0.0.1:9000'],
    ['UnavailableException', new UnavailableException('server is draining', context), ArrpcErrorCode.Unavailable, 'server is draining'],
    ['ConnectionLostException', new ConnectionLostException(context, cause), ArrpcErrorCode.ConnectionLost, 'Connection to 10.0.0.1:9000 lost after the request was written; it may have run'],
    ['CancelledException', new CancelledException(context), ArrpcErrorCode.Cancelled, 'Cancelled'],
    ['ClientClosedException', new ClientClosedException(context), ArrpcErrorCode.ClientClosed, 'The client was closed'],
    ['InvalidResponseException', new InvalidResponseException(context, cause), ArrpcErrorCode.InvalidResponse, 'Invalid response from 10.0.0.1:9000: root cause'],
    ['QueueFullException', new QueueFullException(context, 3), ArrpcErrorCode.QueueFull, '3 calls already wait for a connection (maxQueued)'],
    [
      'UnsendableRequestException',
      new UnsendableRequestException(context, new ArrpcProtocolError('ARRPC_ERR_UNREADABLE_LENGTH', 'a message of 8192 bytes', 4096, 8192)),
      ArrpcErrorCode.Unsendable,
      'Request to 10.0.0.1:9000 not sent: a message of 8192 bytes',
    ],
  ])('%s is a Nest RpcException with its name, code, message and context', (name, error, code, message) => {
    expect(error).toBeInstanceOf(RpcException);
    expect(error).toBeInstanceOf(ArrpcException);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name, code, message, pattern: 'prices.get', endpoint: '10.0.0.1:9000' });
    expect(error.getError()).toBe(message);
  });

  it('has a distinct code per class', () => {
    expect(new Set(Object.values(ArrpcErrorCode)).size).toBe(Object.values(ArrpcErrorCode).length);
    for (const code of Object.values(ArrpcErrorCode)) expect(code).toMatch(/^ARRPC_ERR_[A-Z_]+$/);
  });

  it('keeps the cause of connection failures', () => {
    expect(new ConnectException(context, 1, cause).cause).toBe(cause);
    expect(new ConnectionLostException(context, cause).cause).toBe(cause);
    expect(new InvalidResponseException(context, cause).cause).toBe(cause);
  });

  it("keeps the reference's ConnectException message for one server, and lists every server tried when several", () => {
    expect(new ConnectException(context, 5).tried).toEqual([{ endpoint: '10.0.0.1:9000', attempts: 5 }]);
    const tried = [
      { endpoint: '10.0.0.1:9000', attempts: 1 },
      { endpoint: '10.0.0.2:9000', attempts: 0, skipped: 'ejected' },
      { endpoint: '10.0.0.3:9000', attempts: 5 },
    ];
    const several = new ConnectException(context, 6, cause, tried);
    expect(several.message).toBe('Failed to connect to 10.0.0.1:9000 with 1 attempts, 10.0.0.2:9000 (ejected), 10.0.0.3:9000 with 5 attempts');
    expect(several).toMatchObject({ attempts: 6, tried, code: ArrpcErrorCode.Connect });
    expect(new ConnectException(context, 3, cause, [{ endpoint: '10.0.0.1:9000', attempts: 3 }]).message).toBe(
      'Failed to connect to 10.0.0.1:9000 with 3 attempts',
    );
  });

  it('gives the object of a remote RpcException through getError(), the text as message', () => {
    const remote = parseRemoteError('arrpc.error.RpcException: {"code":42,"message":"bad"}')!;
    expect(remote.kind).toBe(RemoteErrorKind.Rpc);
    const error = new RemoteRpcException(remote, context);
    expect(error.getError()).toEqual({ code: 42, message: 'bad' });
    expect(error.message).toBe('{"code":42,"message":"bad"}');
  });

  it('tells a local timeout from a remote deadline', () => {
    expect(new RpcTimeoutException(context, 100)).toMatchObject({ remote: false, timeoutMs: 100, message: 'Timed out' });
    expect(new RpcTimeoutException(context, undefined, 'deadline exceeded')).toMatchObject({ remote: true, timeoutMs: undefined, message: 'deadline exceeded' });
  });
});
