import type { ArrpcBalance } from '../options/index.js';

/** What the picker compares: an endpoint's requests in flight (written and unanswered, plus queued). */
export interface Loaded {
  readonly load: number;
}

/** Numbers in [0, 1), as `Math.random` gives them; tests pass a seeded one. */
export type RandomSource = () => number;

/**
 * Chooses the endpoint of each request among the candidates the pool offers.
 *
 * `'p2c'` (power of two choices): two distinct candidates at random, and the one with fewer
 * requests in flight (the first drawn on a tie). Always taking the least loaded of all would
 * send every client's burst to the same idle server at once; two random choices keep most of
 * the benefit without that herd, and cost two reads per request.
 *
 * `'round-robin'`: each candidate in turn, whatever its load.
 */
export class Picker {
  private turn = 0;

  constructor(
    readonly balance: ArrpcBalance,
    private readonly random: RandomSource = Math.random,
  ) {}

  /** The chosen candidate; `undefined` when there is none. */
  pick<T extends Loaded>(candidates: readonly T[]): T | undefined {
    const count = candidates.length;
    if (count <= 1) return candidates[0];
    if (this.balance === 'round-robin') {
      const chosen = candidates[this.turn % count];
      this.turn = (this.turn + 1) % Number.MAX_SAFE_INTEGER;
      return chosen;
    }
    const first = this.draw(count);
    // The second among the others: shift past the first so both are distinct and uniform.
    let second = this.draw(count - 1);
    if (second >= first) second++;
    const a = candidates[first]!;
    const b = candidates[second]!;
    return b.load < a.load ? b : a;
  }

  private draw(count: number): number {
    return Math.min(count - 1, Math.floor(this.random() * count));
  }
}
