import { describe, expect, it } from 'vitest';
import {
  MessageDecoder,
  MessageEncoder,
  parseRemoteError,
  signMessage,
  verifyMessage,
} from '../../lib/index.js';
import { describeVectors, fromTagged, hexBytes, holdsWholeFloat, type VectorCase } from '../support/vectors.js';

/** Every message a decoder yields from `chunks`, and whether bytes of another were left over. */
function decodeChunks(chunks: Uint8Array[]) {
  const decoder = new MessageDecoder();
  const values: unknown[] = [];
  for (const chunk of chunks) decoder.write(chunk, (value) => values.push(value));
  return { values, partial: decoder.hasPartialMessage };
}

/** The same bytes cut at `cuts` random places (a seeded generator: failures replay). */
function randomSplit(bytes: Uint8Array, seed: number, cuts = 8): Uint8Array[] {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const at = [...new Set(Array.from({ length: cuts }, () => Math.floor(next() * bytes.length)))].sort((a, b) => a - b);
  return [0, ...at].map((start, i) => bytes.subarray(start, at[i] ?? bytes.length));
}

const encoder = new MessageEncoder();
const AUTH_ANSWER = 'arrpc.error.AuthException';

describeVectors('vectors.json: the Python reference, byte for byte', (vectors) => {
  it('has cases to check', () => {
    expect(vectors.cases.length).toBeGreaterThan(0);
  });

  describe.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, vector: VectorCase) => {
    for (const [index, turn] of vector.wire.entries()) {
      const label = `${turn.direction} ${index}`;
      const bytes = hexBytes(turn.hex);
      const whole = decodeChunks([bytes]);

      if (turn.decoded !== undefined) {
        const expected = fromTagged(turn.decoded);
        it(`${label}: decodes to the tagged value, whole, byte by byte and in random splits`, () => {
          expect(whole).toEqual({ values: [expected], partial: false });
          expect(decodeChunks([...bytes].map((byte) => Uint8Array.of(byte)))).toEqual(whole);
          for (let seed = 1; seed <= 5; seed++) expect(decodeChunks(randomSplit(bytes, seed))).toEqual(whole);
        });

        if (holdsWholeFloat(turn.decoded)) {
          it(`${label}: holds a whole-valued float, which JS reads as an int: the value survives re-encoding, not the float form`, () => {
            expect(decodeChunks([encoder.encode(whole.values[0])]).values).toEqual([expected]);
          });
        } else {
          it(`${label}: re-encodes to the captured bytes`, () => {
            expect(encoder.encode(whole.values[0]).toString('hex')).toBe(turn.hex);
          });
        }
      } else {
        it(`${label}: raw bytes frame into whole messages that re-encode to the bytes they came from`, () => {
          const split = decodeChunks(randomSplit(bytes, index + 1));
          expect(split).toEqual(whole);
          const reencoded = Buffer.concat(whole.values.map((value) => encoder.encode(value)));
          expect(whole.partial || reencoded.length === bytes.length).toBe(true);
          expect(Buffer.from(bytes).subarray(0, reencoded.length).equals(reencoded)).toBe(true);
        });
      }
    }

    const request = vector.wire.find((turn) => turn.direction === 'request');
    const response = vector.wire.find((turn) => turn.direction === 'response');

    if (vector.sent_value !== undefined && request && !holdsWholeFloat(vector.sent_value)) {
      it('request: rebuilt from sent_value as the Python client wrote it', () => {
        const inner = encoder.encode(fromTagged(vector.sent_value));
        const rebuilt = vector.client_auth_secret ? signMessage(encoder, inner, vector.client_auth_secret) : inner;
        expect(rebuilt.toString('hex')).toBe(request.hex);
      });
    }

    if (vector.client_auth_secret && vector.server_auth_secret && request) {
      const refused = response !== undefined && String(fromTagged(response.decoded)).includes(AUTH_ANSWER);
      it(`request: signature ${refused ? 'fails' : 'verifies'} against the server's secret, as the server answered`, () => {
        const [envelope] = decodeChunks([hexBytes(request.hex)]).values;
        const verify = () => verifyMessage(envelope, vector.server_auth_secret!);
        if (refused) expect(verify).toThrowError(/signature/);
        else expect(verify()).toEqual(fromTagged(vector.sent_value));
      });
    }

    const result = vector.python_client_result;
    if (response && result && result.kind !== 'value' && result.kind !== 'RpcTimeoutException') {
      it(`response: parses to ${result.kind} with the reference client's message`, () => {
        const answer = decodeChunks([hexBytes(response.hex)]).values[0];
        expect(parseRemoteError(answer)).toMatchObject({ kind: result.kind, message: result.message });
      });
    }

    if (response && result?.kind === 'value') {
      it('response: is a plain answer, not an error string', () => {
        const answer = decodeChunks([hexBytes(response.hex)]).values[0];
        expect(parseRemoteError(answer)).toBeUndefined();
      });
    }

    if (response && !result) {
      it('response: an error string parses to the kind and message it names, anything else to none', () => {
        const answer = decodeChunks([hexBytes(response.hex)]).values[0];
        const named = typeof answer === 'string' ? /^arrpc\.error\.(\w+): (.*)$/s.exec(answer) : null;
        if (named) expect(parseRemoteError(answer)).toMatchObject({ kind: named[1], message: named[2] });
        else expect(parseRemoteError(answer)).toBeUndefined();
      });
    }
  });
});
