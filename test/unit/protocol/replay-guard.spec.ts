import { describe, expect, it } from 'vitest';
import {
  GUARD_NONCE_BYTES,
  MessageEncoder,
  NonceSource,
  NonceStore,
  decodeMessage,
  guardMessage,
  readGuard,
} from '../../../lib/index.js';

const encoder = new MessageEncoder();
const NOW = 1_800_000_000_000;

function nonce(fill: number): Uint8Array {
  return new Uint8Array(GUARD_NONCE_BYTES).fill(fill);
}

describe('guardMessage and readGuard', () => {
  it('round-trips through MessagePack, time, nonce and data in that order', () => {
    const bytes = encoder.encode(guardMessage({ a: 1 }, NOW, nonce(7)));
    // fixmap of 3, then "arrpc.ts": uint64, then "arrpc.nonce": bin8 of 16.
    expect(bytes.subarray(0, 10).toString('hex')).toBe(`83a8${Buffer.from('arrpc.ts').toString('hex')}`);
    expect(readGuard(decodeMessage(bytes))).toEqual({ time: NOW, nonce: nonce(7), data: { a: 1 } });
  });

  it.each([
    ['a str', 'x'],
    ['nil', null],
    ['an array', [1, 2]],
    ['a map without the nonce key', { 'arrpc.ts': NOW, data: 1 }],
  ])('finds no guard in %s', (_name, value) => {
    expect(readGuard(value)).toBeUndefined();
  });

  it.each([
    ['an extra key', { ...guardMessage(1, NOW, nonce(1)), extra: 1 }, /exactly/],
    ['no data', { 'arrpc.ts': NOW, 'arrpc.nonce': nonce(1), other: 1 }, /exactly/],
    ['a time as str', guardMessage(1, String(NOW) as never, nonce(1)), /whole milliseconds/],
    ['a fractional time', guardMessage(1, NOW + 0.5, nonce(1)), /whole milliseconds/],
    ['a negative time', guardMessage(1, -1, nonce(1)), /whole milliseconds/],
    ['a short nonce', guardMessage(1, NOW, new Uint8Array(15)), /bin of 16 bytes/],
    ['a nonce as str', guardMessage(1, NOW, 'x'.repeat(16) as never), /bin of 16 bytes/],
  ])('says what is wrong with a guard with %s', (_name, value, reason) => {
    expect(readGuard(value)).toMatch(reason);
  });
});

describe('NonceSource', () => {
  it('draws distinct 16-byte nonces, past one random fill', () => {
    const source = new NonceSource();
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const drawn = source.next();
      expect(drawn.length).toBe(GUARD_NONCE_BYTES);
      seen.add(Buffer.from(drawn).toString('hex'));
    }
    expect(seen.size).toBe(1000);
  });
});

describe('NonceStore', () => {
  it('admits a message once within the window, and refuses its copy', () => {
    const store = new NonceStore(1000, 10);
    expect(store.admit(NOW, nonce(1), NOW)).toBeUndefined();
    expect(store.admit(NOW, nonce(1), NOW + 500)).toBe('nonce seen before');
    expect(store.admit(NOW, nonce(2), NOW + 500)).toBeUndefined();
  });

  it('refuses a time outside the window either side of the clock, and admits its edges', () => {
    const store = new NonceStore(1000, 10);
    expect(store.admit(NOW - 1001, nonce(1), NOW)).toBe('outside the window');
    expect(store.admit(NOW + 1001, nonce(2), NOW)).toBe('outside the window');
    expect(store.admit(NOW - 1000, nonce(3), NOW)).toBeUndefined();
    expect(store.admit(NOW + 1000, nonce(4), NOW)).toBeUndefined();
  });

  it('keeps a nonce while its message is in the window: a copy is refused for as long as the original is accepted', () => {
    const store = new NonceStore(1000, 10);
    expect(store.admit(NOW + 900, nonce(1), NOW)).toBeUndefined();
    // Later copies: the nonce is held until the message's time leaves the window, then the time refuses it.
    expect(store.admit(NOW + 900, nonce(1), NOW + 1800)).toBe('nonce seen before');
    expect(store.admit(NOW + 900, nonce(1), NOW + 1901)).toBe('outside the window');
  });

  it('refuses new messages when full rather than forget a nonce, and forgets expired ones by time', () => {
    const store = new NonceStore(1000, 3);
    for (let i = 1; i <= 3; i++) expect(store.admit(NOW, nonce(i), NOW)).toBeUndefined();
    expect(store.admit(NOW, nonce(4), NOW + 10)).toBe('nonce memory full');
    expect(store.size).toBe(3);
    // Once the first three leave the window, they are forgotten and there is room again.
    expect(store.admit(NOW + 1001, nonce(4), NOW + 1001)).toBeUndefined();
    expect(store.size).toBe(1);
  });

  it('holds an expired nonce behind a younger one no longer than that one', () => {
    const store = new NonceStore(1000, 10);
    expect(store.admit(NOW + 1000, nonce(1), NOW)).toBeUndefined(); // a fast clock: kept until NOW + 2000
    expect(store.admit(NOW - 1000, nonce(2), NOW)).toBeUndefined(); // a slow one: expired at NOW
    expect(store.admit(NOW + 1500, nonce(3), NOW + 1500)).toBeUndefined(); // expired nonce 2 waits behind nonce 1
    expect(store.size).toBe(3);
    expect(store.admit(NOW + 2001, nonce(4), NOW + 2001)).toBeUndefined();
    expect(store.size).toBe(2);
  });
});
