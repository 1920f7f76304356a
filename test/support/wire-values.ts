// Generated wire values for the codec's property tests.
import fc from 'fast-check';
import { ArrpcTimestamp } from '../../lib/index.js';

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Every value that survives a round trip unchanged (DECISIONS.md, "Property-test domain"). */
export const wireValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.oneof(fc.bigInt({ min: SAFE + 1n, max: UINT64_MAX }), fc.bigInt({ min: INT64_MIN, max: -SAFE - 1n })),
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array(),
    fc
      .tuple(fc.integer({ min: -(2 ** 34), max: 2 ** 34 }), fc.integer({ min: 0, max: 999_999_999 }))
      .map(([seconds, nanoseconds]) => new ArrpcTimestamp(seconds, nanoseconds)),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 5 }),
  ),
})).value;
