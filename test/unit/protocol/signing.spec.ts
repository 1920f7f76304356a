import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ArrpcProtocolError,
  ArrpcProtocolErrorCode,
  MessageEncoder,
  MessageDecoder,
  SignatureKey,
  SignatureKeys,
  signMessage,
  verifyMessage,
  verifySignedMessage,
} from '../../../lib/index.js';
import { decodeMessage } from '../../../lib/index.js';

const SECRET = 'arrpc-vector-secret';
const encoder = new MessageEncoder();
const inner = Buffer.from('81a3666f6fa3626172', 'hex');
// The reference's bytes for {"foo": "bar"} signed with SECRET (vectors.json, case signed-map).
const SIGNED_MAP =
  '82aa61727270632e7369676ed94032613261383530663861316464393235666537303532643839613437343834343062353430626365366362656462353732643933353863623266303036303761a464617461c40981a3666f6fa3626172';

function expectBadSignature(message: unknown, secret = SECRET) {
  expect(() => verifyMessage(message, secret)).toThrowError(
    expect.objectContaining({ code: ArrpcProtocolErrorCode.BadSignature }),
  );
}

describe('SignatureKey', () => {
  // Around SHA-256's 64-byte block (the key is hashed past it) and the 4096-byte scratch buffer.
  const secrets = ['', 'k', 'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(65), 'ü€😀'.repeat(30)];
  const lengths = [0, 1, 55, 56, 63, 64, 65, 4095, 4096, 4097, 100_000];

  it.each(secrets)('signs as createHmac does with the secret %j', (secret) => {
    const key = new SignatureKey(secret);
    for (const length of lengths) {
      const bytes = Buffer.alloc(length).map((_, i) => (i * 31 + length) & 0xff);
      expect(key.sign(bytes), `${length} bytes`).toBe(createHmac('sha256', secret).update(bytes).digest('hex'));
    }
  });

  it('signs a short message after a long one from the same scratch buffer', () => {
    const key = new SignatureKey(SECRET);
    key.sign(Buffer.alloc(4000, 0xaa));
    expect(key.sign(inner)).toBe(createHmac('sha256', SECRET).update(inner).digest('hex'));
  });

  it('signs with string secrets given in turn, each with its own key', () => {
    for (const secret of [SECRET, 'another', SECRET, '', SECRET]) {
      const signed = decodeMessage(signMessage(encoder, inner, secret)) as Record<string, unknown>;
      expect(signed['arrpc.sign']).toBe(createHmac('sha256', secret).update(inner).digest('hex'));
      expect(verifyMessage(signed, secret)).toEqual({ foo: 'bar' });
      expectBadSignature(signed, `${secret}!`);
    }
  });

  it('matches only the lowercase hex signature', () => {
    const key = new SignatureKey(SECRET);
    const signature = key.sign(inner);
    expect(key.matches(inner, signature)).toBe(true);
    expect(key.matches(inner, signature.toUpperCase())).toBe(false);
    expect(key.matches(inner, signature.slice(1))).toBe(false);
    // U+0130's low byte is "0": written as latin1 it would pass for the right signature.
    const lookalike = signature.replace(/0/, '\u0130');
    expect(lookalike).not.toBe(signature);
    expect(key.matches(inner, lookalike)).toBe(false);
  });
});

describe('SignatureKeys', () => {
  const keys = new SignatureKeys(['new', SECRET, 'older']);

  it('gives the position of the secret a signature was made with', () => {
    expect(keys.match(inner, createHmac('sha256', 'new').update(inner).digest('hex'))).toBe(0);
    expect(keys.match(inner, createHmac('sha256', SECRET).update(inner).digest('hex'))).toBe(1);
    expect(keys.match(inner, createHmac('sha256', 'older').update(inner).digest('hex'))).toBe(2);
  });

  it('gives -1 for another secret, and for a signature that is not lowercase hex', () => {
    const other = createHmac('sha256', 'other').update(inner).digest('hex');
    expect(keys.match(inner, other)).toBe(-1);
    expect(keys.match(inner, createHmac('sha256', 'new').update(inner).digest('hex').toUpperCase())).toBe(-1);
  });

  it('gives the first position when a secret is listed twice', () => {
    expect(new SignatureKeys(['a', 'b', 'a']).match(inner, createHmac('sha256', 'a').update(inner).digest('hex'))).toBe(0);
  });

  it('needs at least one secret', () => {
    expect(() => new SignatureKeys([])).toThrow(RangeError);
  });

  it('verifies the reference\'s signed-map as signed with the second secret, and refuses it without', () => {
    const decoder = new MessageDecoder();
    const message = decodeMessage(Buffer.from(SIGNED_MAP, 'hex'));
    expect(verifySignedMessage(message, keys, decoder)).toEqual({ value: { foo: 'bar' }, secretIndex: 1 });
    expect(() => verifySignedMessage(message, new SignatureKeys(['new', 'older']), decoder)).toThrowError(
      expect.objectContaining({ code: ArrpcProtocolErrorCode.BadSignature }),
    );
  });
});

describe('signMessage', () => {
  it('builds the reference envelope byte for byte', () => {
    expect(signMessage(encoder, inner, SECRET).toString('hex')).toBe(SIGNED_MAP);
  });
});

describe('verifyMessage', () => {
  const envelope = decodeMessage(Buffer.from(SIGNED_MAP, 'hex')) as Record<string, unknown>;

  it('returns the signed value', () => {
    expect(verifyMessage(envelope, SECRET)).toEqual({ foo: 'bar' });
    expect(verifyMessage(envelope, new SignatureKey(SECRET))).toEqual({ foo: 'bar' });
  });

  it('accepts the keys in either order', () => {
    expect(verifyMessage({ data: envelope['data'], 'arrpc.sign': envelope['arrpc.sign'] }, SECRET)).toEqual({
      foo: 'bar',
    });
  });

  it('refuses another secret, and a tampered signature or payload', () => {
    expectBadSignature(envelope, 'another-secret');
    const sign = envelope['arrpc.sign'] as string;
    expectBadSignature({ ...envelope, 'arrpc.sign': sign.toUpperCase() });
    expectBadSignature({ ...envelope, data: Buffer.from('81a3666f6fa3626174', 'hex') });
  });

  it.each([
    ['a plain map', { foo: 'bar' }],
    ['a str', 'hello'],
    ['nil', null],
    ['an array', [1]],
    ['a missing signature', { data: inner }],
    ['a missing data', { 'arrpc.sign': 'a'.repeat(64) }],
    ['a signature of the wrong length', { 'arrpc.sign': 'abc', data: inner }],
    ['a signature that is bin', { 'arrpc.sign': Buffer.alloc(64), data: inner }],
    ['data as str', { 'arrpc.sign': 'a'.repeat(64), data: 'abc' }],
    ['an extra key', { 'arrpc.sign': 'a'.repeat(64), data: inner, more: 1 }],
  ])('refuses %s', (_case, message) => {
    expectBadSignature(message);
  });

  it('refuses signed data that is not one MessagePack value', () => {
    for (const data of [Buffer.from('82a161', 'hex'), Buffer.from('0102', 'hex'), Buffer.from('c1', 'hex')]) {
      const signed = decodeMessage(signMessage(encoder, data, SECRET));
      let caught: unknown;
      try {
        verifyMessage(signed, SECRET);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ArrpcProtocolError);
      expect((caught as ArrpcProtocolError).message).toMatch(/signed data is not one valid value/);
    }
  });
});
