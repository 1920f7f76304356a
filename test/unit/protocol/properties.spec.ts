import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ArrpcProtocolError, MessageDecoder, MessageEncoder, decodeMessage } from '../../../lib/index.js';
import { wireValue } from '../../support/wire-values.js';

const encoder = new MessageEncoder();

/** Splits `bytes` at the given fractions of its length. */
function splitAt(bytes: Uint8Array, fractions: number[]): Uint8Array[] {
  const cuts = [...new Set(fractions.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  return [0, ...cuts].map((start, i) => bytes.subarray(start, cuts[i] ?? bytes.length));
}

function decodeAll(chunks: Uint8Array[], decoder = new MessageDecoder()): unknown[] {
  const out: unknown[] = [];
  for (const chunk of chunks) decoder.write(chunk, (value) => out.push(value));
  return out;
}

describe('codec properties', () => {
  it('decode(encode(v)) returns v', () => {
    fc.assert(
      fc.property(wireValue, (value) => {
        expect(decodeMessage(encoder.encode(value))).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it('decoding under any chunking equals decoding in one piece', () => {
    fc.assert(
      fc.property(
        fc.array(wireValue, { minLength: 1, maxLength: 4 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
        (values, fractions) => {
          const stream = Buffer.concat(values.map((value) => encoder.encode(value)));
          expect(decodeAll(splitAt(stream, fractions))).toEqual(decodeAll([stream]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random and mutated bytes yield messages or the typed protocol error, and the decoder keeps working', () => {
    const limits = { maxMessageBytes: 64 * 1024, maxDepth: 32 };
    const mutated = fc
      .tuple(wireValue, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }))
      .map(([value, flips]) => {
        const bytes = Uint8Array.from(encoder.encode(value));
        for (const [at, byte] of flips) if (bytes.length > 0) bytes[at % bytes.length] = byte;
        return bytes;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 256 }), mutated), (bytes) => {
        const decoder = new MessageDecoder(limits);
        try {
          decodeAll([bytes], decoder);
        } catch (error) {
          expect(error).toBeInstanceOf(ArrpcProtocolError);
        }
        decoder.reset();
        expect(decodeAll([Buffer.from('a26f6b', 'hex')], decoder)).toEqual(['ok']);
      }),
      { numRuns: 2000 },
    );
  });

  it('a 5-byte claim of 4 GiB fails at once, holding nothing', () => {
    const before = process.memoryUsage().arrayBuffers;
    const decoder = new MessageDecoder();
    expect(() => decoder.write(Buffer.from('dbffffffff', 'hex'), () => {})).toThrowError(ArrpcProtocolError);
    expect(decoder.hasPartialMessage).toBe(false);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(1024 * 1024);
  });
});
