// The rules that differ between a Python arrpc peer and an ArrpcServer, one table per rule.
import { describe, expect, it } from 'vitest';
import { ArrpcProtocolError, MessageEncoder, RemoteErrorKind, decodeMessage, formatRemoteError, parseRemoteError } from '../../../lib/index.js';
import { peerProfile, type ArrpcPeer } from '../../../lib/protocol/index.js';

const encoder = new MessageEncoder();
/** A str of `length` ASCII bytes, encoded: str 16 (3-byte header) up to 65,535, str 32 (5) beyond. */
const encodedStr = (length: number): Buffer => Buffer.from(encoder.encode('s'.repeat(length)));

describe('peerProfile', () => {
  it.each<[ArrpcPeer, number]>([
    ['python', 1],
    ['nestjs-arrpc', Infinity],
  ])('%s: at most %d requests in flight per connection', (peer, maxPipeline) => {
    expect(peerProfile(peer).maxPipeline).toBe(maxPipeline);
  });

  // Raw: an answer to a raw message (what a Python client sends); envelope: to a Nest envelope.
  it.each<[ArrpcPeer, 'raw' | 'envelope', RemoteErrorKind, boolean]>([
    ['python', 'raw', RemoteErrorKind.Auth, true],
    ['python', 'raw', RemoteErrorKind.Rpc, true],
    ['python', 'raw', RemoteErrorKind.Unavailable, false],
    ['python', 'raw', RemoteErrorKind.Timeout, false],
    ['python', 'envelope', RemoteErrorKind.Unavailable, true],
    ['python', 'envelope', RemoteErrorKind.Timeout, true],
    ['nestjs-arrpc', 'raw', RemoteErrorKind.Auth, true],
    ['nestjs-arrpc', 'raw', RemoteErrorKind.Rpc, true],
    ['nestjs-arrpc', 'raw', RemoteErrorKind.Unavailable, true],
    ['nestjs-arrpc', 'envelope', RemoteErrorKind.Timeout, true],
  ])('%s, answer to a %s message naming %s: read as that error: %s', (peer, message, kind, recognised) => {
    const answer = formatRemoteError(kind, 'm');
    const kinds = peerProfile(peer).errorKinds(message === 'envelope');
    expect(parseRemoteError(answer, kinds)).toEqual(recognised ? { kind, message: 'm', error: 'm' } : undefined);
  });

  it('python: a kind it cannot send does not hide one it can, later in the str', () => {
    const answer = 'arrpc.error.UnavailableException: arrpc.error.RpcException: inner';
    expect(parseRemoteError(answer, peerProfile('python').errorKinds(false))).toMatchObject({ kind: RemoteErrorKind.Rpc, message: 'inner' });
  });

  it.each<[ArrpcPeer, number, 'same' | 'widened']>([
    ['python', 4093 - 3, 'same'],
    ['python', 4096 - 3, 'widened'],
    ['python', 8192 - 3, 'widened'],
    ['nestjs-arrpc', 4096 - 3, 'same'],
    ['nestjs-arrpc', 69_632 - 5, 'same'],
  ])('%s: a str of %d bytes is written %s', (peer, length, how) => {
    const bytes = encodedStr(length);
    const framed = peerProfile(peer).frame(bytes);
    if (how === 'same') expect(framed).toBe(bytes);
    else expect(framed.length % 4096).not.toBe(0);
    expect(decodeMessage(framed)).toBe(decodeMessage(bytes));
  });

  it.each([
    ['a str 32', encodedStr(69_632 - 5)],
    ['a bin 32', Buffer.from(encoder.encode(new Uint8Array(4096 * 20 - 5)))],
  ])('python: refuses %s of k * 4096 bytes, which has no larger form, naming the length', (_kind, bytes) => {
    expect(bytes.length % 4096).toBe(0);
    const refusal = { code: 'ARRPC_ERR_UNREADABLE_LENGTH', limit: 4096, value: bytes.length };
    expect(() => peerProfile('python').frame(bytes)).toThrow(expect.objectContaining(refusal));
    expect(() => peerProfile('python').frame(bytes)).toThrow(ArrpcProtocolError);
  });
});
