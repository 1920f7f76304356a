import { describe, expect, it } from 'vitest';
import { ArrpcProtocolErrorCode, MessageEncoder, buildEnvelope, readEnvelope } from '../../../lib/index.js';

describe('Nest envelope', () => {
  it('writes the pattern key first, then data, then meta when there is any', () => {
    const encoder = new MessageEncoder();
    expect(encoder.encode(buildEnvelope('request', 'users.get', 1)).toString('hex')).toBe(
      '82ad61727270632e7061747465726ea975736572732e676574a46461746101',
    );
    expect(Object.keys(buildEnvelope('event', 'e', null, {}))).toEqual(['arrpc.event', 'data']);
    expect(Object.keys(buildEnvelope('request', { cmd: 'x' }, null, { 'x-id': '1' }))).toEqual([
      'arrpc.pattern',
      'data',
      'meta',
    ]);
  });

  it('reads requests and events back', () => {
    expect(readEnvelope(buildEnvelope('request', 'users.get', { id: 1 }, { trace: 't' }))).toEqual({
      kind: 'request',
      pattern: 'users.get',
      data: { id: 1 },
      meta: { trace: 't' },
      metaIgnored: false,
    });
    expect(readEnvelope({ 'arrpc.event': { cmd: 'created' } })).toEqual({
      kind: 'event',
      pattern: { cmd: 'created' },
      data: null,
      meta: undefined,
      metaIgnored: false,
    });
  });

  it('treats anything else as a plain message', () => {
    for (const message of [{ foo: 'bar' }, 'arrpc.pattern', null, [1], 0, new Uint8Array(1)]) {
      expect(readEnvelope(message)).toBeUndefined();
    }
  });

  it.each([
    ['an int', 1],
    ['nil', null],
    ['an array', ['a']],
    ['bin', new Uint8Array([1])],
  ])('refuses a pattern that is %s', (_kind, pattern) => {
    expect(() => readEnvelope({ 'arrpc.pattern': pattern, data: 1 })).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.InvalidEnvelope }),
    );
  });

  it('refuses an envelope that is both a request and an event', () => {
    expect(() => readEnvelope({ 'arrpc.pattern': 'a', 'arrpc.event': 'b' })).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.InvalidEnvelope }),
    );
  });

  it('ignores a meta that is not a map of str to str, and says so', () => {
    for (const meta of ['x', { a: 1 }, [['a', 'b']], null]) {
      expect(readEnvelope({ 'arrpc.pattern': 'p', data: 1, meta })).toMatchObject({
        meta: undefined,
        metaIgnored: true,
      });
    }
  });
});
