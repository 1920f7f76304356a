import { describe, expect, it } from 'vitest';
import { RemoteErrorKind, formatRemoteError, formatRpcError, parseRemoteError } from '../../../lib/index.js';

describe('error strings', () => {
  it('formats the reference answers', () => {
    expect(formatRpcError('Something went wrong')).toBe('arrpc.error.RpcException: Something went wrong');
    expect(formatRemoteError(RemoteErrorKind.Auth, 'nope')).toBe('arrpc.error.AuthException: nope');
    expect(formatRpcError({ status: 'error', code: 7 })).toBe(
      'arrpc.error.RpcException: {"status":"error","code":7}',
    );
  });

  it('parses each kind, with the message after the prefix', () => {
    expect(parseRemoteError('arrpc.error.RpcException: échec ✗')).toEqual({
      kind: 'RpcException',
      message: 'échec ✗',
      error: 'échec ✗',
    });
    for (const kind of Object.values(RemoteErrorKind)) {
      expect(parseRemoteError(formatRemoteError(kind, 'm'))).toMatchObject({ kind, message: 'm' });
    }
  });

  it('finds the marker anywhere in the str, as the reference client does', () => {
    expect(parseRemoteError('prefix arrpc.error.AuthException: bad')).toMatchObject({
      kind: 'AuthException',
      message: 'bad',
    });
  });

  it('turns JSON-object text back into the object, and leaves other text alone', () => {
    expect(parseRemoteError(formatRpcError({ a: [1] }))!.error).toEqual({ a: [1] });
    expect(parseRemoteError(formatRpcError('{not json'))!.error).toBe('{not json');
    expect(parseRemoteError(formatRpcError('[1,2]'))!.error).toBe('[1,2]');
  });

  it('returns undefined for plain answers', () => {
    for (const answer of ['got it', 'arrpc.error.', 42, null, { kind: 'RpcException' }]) {
      expect(parseRemoteError(answer)).toBeUndefined();
    }
  });
});
