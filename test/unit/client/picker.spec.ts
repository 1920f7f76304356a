// The picker alone, with a seeded random source (DECISIONS.md "Many servers"): power of two
// choices prefers the lighter of two distinct candidates; round-robin takes each in turn.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Picker, type RandomSource } from '../../../lib/client/picker.js';

/** mulberry32: a small seeded generator, the same numbers for the same seed on every run. */
function seeded(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const endpoints = (...loads: number[]) => loads.map((load, index) => ({ name: `e${index}`, load }));

describe('Picker, power of two choices', () => {
  it('is deterministic for one seed', () => {
    const candidates = endpoints(0, 0, 0, 0, 0);
    const run = (seed: number) => {
      const picker = new Picker('p2c', seeded(seed));
      return Array.from({ length: 50 }, () => picker.pick(candidates)!.name);
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });

  it('spreads evenly over candidates of equal load', () => {
    const picker = new Picker('p2c', seeded(42));
    const candidates = endpoints(0, 0, 0);
    const counts = new Map<string, number>();
    for (let i = 0; i < 30_000; i++) {
      const name = picker.pick(candidates)!.name;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    for (const name of ['e0', 'e1', 'e2']) expect(Math.abs(counts.get(name)! - 10_000)).toBeLessThan(500);
  });

  it('always takes the lighter of two', () => {
    const picker = new Picker('p2c', seeded(1));
    for (let i = 0; i < 100; i++) expect(picker.pick(endpoints(3, 2))!.name).toBe('e1');
  });

  it('draws two distinct candidates, even from a source that repeats itself', () => {
    // first = 0, second = 0 among the other two, shifted past the first: index 1.
    expect(new Picker('p2c', () => 0).pick(endpoints(5, 1, 0))!.name).toBe('e1');
    // A source at its upper bound still lands inside the list.
    expect(new Picker('p2c', () => 1 - Number.EPSILON).pick(endpoints(0, 4, 9))!.name).toBe('e1');
  });

  it('never picks a candidate that is busier than every other', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(20), { minLength: 2, maxLength: 8 }), fc.integer(), (loads, seed) => {
        const picker = new Picker('p2c', seeded(seed));
        const candidates = endpoints(...loads);
        const max = Math.max(...loads);
        const uniqueMax = loads.filter((load) => load === max).length === 1;
        for (let i = 0; i < 20; i++) {
          const chosen = picker.pick(candidates)!;
          if (uniqueMax) expect(chosen.load).toBeLessThan(max);
        }
      }),
    );
  });

  it('sends more to the lighter candidates when loads differ', () => {
    const picker = new Picker('p2c', seeded(3));
    const candidates = endpoints(0, 5, 10);
    const counts = [0, 0, 0];
    for (let i = 0; i < 3_000; i++) counts[Number(picker.pick(candidates)!.name.slice(1))]!++;
    // The lightest wins every draw it is in (2 of 3), the middle one only against the heaviest.
    expect(counts[0]! / 3_000).toBeCloseTo(2 / 3, 1);
    expect(counts[1]! / 3_000).toBeCloseTo(1 / 3, 1);
    expect(counts[2]).toBe(0);
  });
});

describe('Picker, round-robin', () => {
  it('takes each candidate in turn, whatever its load', () => {
    const picker = new Picker('round-robin', seeded(1));
    const candidates = endpoints(9, 0, 4);
    expect(Array.from({ length: 7 }, () => picker.pick(candidates)!.name)).toEqual(['e0', 'e1', 'e2', 'e0', 'e1', 'e2', 'e0']);
  });
});

describe('Picker, any balance', () => {
  it.each(['p2c', 'round-robin'] as const)('%s: none from no candidate, the one from one', (balance) => {
    const picker = new Picker(balance, seeded(1));
    expect(picker.pick([])).toBeUndefined();
    expect(picker.pick(endpoints(7))!.name).toBe('e0');
  });
});
