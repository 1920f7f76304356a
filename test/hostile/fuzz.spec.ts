// Property-based attacks on a live ArrpcServer over real sockets (fast-check, bounded in runs and
// time for CI). The contract, after every generated input: the process is up, nothing escaped to
// `unhandledRejection`/`uncaughtException`, the bystander and a fresh connection are answered; and
// for a sequence of whole messages, each is answered in order before any breach closes the stream.
import type { Server as NetServer } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ExtData } from '@msgpack/msgpack';
import { MessageEncoder, buildEnvelope, decodeMessage } from '../../lib/index.js';
import { TestPeer } from '../e2e/server/helpers.js';
import { connectRaw } from '../support/sockets.js';
import { CLOSE_WITHIN_MS, INCOMPLETE_MS, useHostileServer } from './harness.js';

const hostile = useHostileServer({ options: { debug: false } });
const encoder = new MessageEncoder();

/** Per property: at most this many runs, and no more than this much time. */
const RUNS = 100;
const TIME_LIMIT_MS = 5000;

/** Bytes that start MessagePack's riskiest tokens: long claims, deep containers, 0xc1. */
const SHARP_BYTES = [0xc1, 0xdb, 0xdd, 0xdf, 0xc6, 0xc9, 0xc8, 0xda, 0xdc, 0xde, 0x91, 0x81, 0xff, 0x00, 0xc0, 0xd4];

const byte = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) }, { weight: 1, arbitrary: fc.constantFrom(...SHARP_BYTES) });
const bytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.array(byte, { maxLength }).map((list) => Uint8Array.from(list));

/** Values of the codec's domain (DECISIONS.md "Property-test domain"), kept small. */
const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
    fc.string({ maxLength: 20 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.tuple(fc.integer({ min: 0, max: 127 }), fc.uint8Array({ maxLength: 8 })).map(([type, data]) => new ExtData(type, data)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }).filter((key) => !key.startsWith('arrpc.')), tie('value'), { maxKeys: 4 }),
  ),
})).value;

/** A message: a plain value (the default pattern's echo) or a Nest envelope to `echo`. */
const message = fc.tuple(value, fc.boolean()).map(([data, enveloped]) => ({
  bytes: encoder.encode(enveloped ? buildEnvelope('request', 'echo', data) : data),
  // What the echo answers: the value as the server decoded it.
  expected: decodeMessage(encoder.encode(data)),
}));

/** One edit of a valid encoding. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), to: byte }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), to: byte }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }), times: fc.integer({ min: 2, max: 50 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Buffer, edits: Mutation[]): Buffer {
  let out = Buffer.from(input);
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : edit.at % out.length;
    switch (edit.kind) {
      case 'flip':
        if (out.length > 0) out[at] = edit.to;
        break;
      case 'truncate':
        out = out.subarray(0, at);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, at), Buffer.from([edit.to]), out.subarray(at)]);
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
        break;
      case 'repeat': {
        const piece = out.subarray(at, at + edit.length);
        out = Buffer.concat([out.subarray(0, at), ...Array.from({ length: edit.times }, () => piece), out.subarray(at + edit.length)]);
        break;
      }
    }
  }
  return out;
}

/** Splits `data` at the given cut points (taken modulo its length), as the network might. */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => (data.length === 0 ? 0 : cut % data.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    if (point > from) pieces.push(data.subarray(from, point));
    from = Math.max(from, point);
  }
  pieces.push(data.subarray(from));
  return pieces.filter((piece) => piece.length > 0);
}

/** Writes `pieces` on a fresh raw connection, lets the server react briefly, then drops it. */
async function throwAtServer(pieces: Buffer[]): Promise<void> {
  const raw = await connectRaw(hostile.port);
  try {
    for (const piece of pieces) await raw.write(piece).catch(() => undefined);
    await raw.waitClosed(20);
  } finally {
    raw.destroy();
  }
}

const settings = { numRuns: RUNS, interruptAfterTimeLimit: TIME_LIMIT_MS, markInterruptAsFailure: false };

describe('property: generated input never hurts the server', () => {
  it('random byte streams, in random pieces', async () => {
    await fc.assert(
      fc.asyncProperty(bytes(2048), fc.array(fc.nat(), { maxLength: 6 }), async (data, cuts) => {
        await throwAtServer(split(Buffer.from(data), cuts));
        await hostile.expectHealthy();
      }),
      settings,
    );
  }, 30_000);

  it('valid messages with random edits (flipped, cut, inserted, deleted, repeated bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(message, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 4 }), async (msg, edits, cuts) => {
        await throwAtServer(split(mutate(msg.bytes, edits), cuts));
        await hostile.expectHealthy();
      }),
      settings,
    );
  }, 30_000);

  it('sequences of whole messages, then maybe a breach: each answered in order, then closed only on a breach', async () => {
    const tails = {
      none: Buffer.alloc(0),
      reserved: Buffer.from([0xc1]),
      claim: Buffer.from('dbffffffff', 'hex'),
      depth: Buffer.concat([Buffer.alloc(200, 0x91), Buffer.from([0x01])]),
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(...(Object.keys(tails) as (keyof typeof tails)[])),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (messages, tail, cuts) => {
          const peer = await TestPeer.connect(hostile.port);
          try {
            const stream = Buffer.concat([...messages.map((msg) => msg.bytes), tails[tail]]);
            for (const piece of split(stream, cuts)) await peer.writeRaw(piece).catch(() => undefined);
            for (const msg of messages) expect(await peer.next()).toEqual(msg.expected);
            if (tail === 'none') {
              expect(await hostile.ask(peer, buildEnvelope('request', 'echo', 'open'))).toBe('open');
            } else {
              expect(await peer.raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
              expect(peer.pending).toBe(0);
            }
          } finally {
            peer.destroy();
          }
          await hostile.expectHealthy();
        },
      ),
      settings,
    );
  }, 30_000);

  it('leaves no connection behind once the incomplete-message timeout has passed', async () => {
    // Only the bystander remains: every attacked connection was closed by one side or the other.
    await expect
      .poll(
        () =>
          new Promise<number>((resolve, reject) =>
            hostile.server.server.unwrap<NetServer>().getConnections((error, count) => (error ? reject(error) : resolve(count))),
          ),
        { timeout: INCOMPLETE_MS + 2000 },
      )
      .toBe(1);
    await hostile.expectHealthy();
  });
});
