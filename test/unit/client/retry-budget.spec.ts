// The retry budget with a clock the test moves: ratio × requests of the window plus the
// per-second reserve, and a window that slides.
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../../lib/client/retry-budget.js';

/** A budget and the clock it reads, in ms. */
function budgetAt(settings: { ratio: number; windowMs: number; minPerSecond: number }) {
  const clock = { now: 1_000_000 };
  return { clock, budget: new RetryBudget(settings, () => clock.now) };
}

/** Re-sends granted before the first refusal (bounded). */
function drain(budget: RetryBudget): number {
  let granted = 0;
  while (granted < 10_000 && budget.tryRetry()) granted++;
  return granted;
}

describe('RetryBudget', () => {
  it('allows ratio × the requests of the window', () => {
    const { budget } = budgetAt({ ratio: 0.2, windowMs: 10_000, minPerSecond: 0 });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(drain(budget)).toBe(20);
    expect(budget.tryRetry()).toBe(false);
  });

  it('adds minPerSecond for every second of the window, whatever the traffic', () => {
    const { budget } = budgetAt({ ratio: 0.2, windowMs: 10_000, minPerSecond: 10 });
    expect(drain(budget)).toBe(100);
    for (let i = 0; i < 50; i++) budget.recordRequest();
    expect(drain(budget)).toBe(10);
  });

  it('grants nothing with ratio 0 and no reserve', () => {
    const { budget } = budgetAt({ ratio: 0, windowMs: 1_000, minPerSecond: 0 });
    for (let i = 0; i < 100; i++) budget.recordRequest();
    expect(budget.tryRetry()).toBe(false);
  });

  it('forgets requests and re-sends once they leave the window', () => {
    const { clock, budget } = budgetAt({ ratio: 0.5, windowMs: 1_000, minPerSecond: 0 });
    for (let i = 0; i < 10; i++) budget.recordRequest();
    expect(drain(budget)).toBe(5);
    // Half a window later both still count.
    clock.now += 500;
    expect(budget.tryRetry()).toBe(false);
    // A whole window later neither does: new requests earn a fresh budget.
    clock.now += 600;
    expect(budget.tryRetry()).toBe(false);
    for (let i = 0; i < 4; i++) budget.recordRequest();
    expect(drain(budget)).toBe(2);
  });

  it('slides bucket by bucket', () => {
    const { clock, budget } = budgetAt({ ratio: 1, windowMs: 1_000, minPerSecond: 0 });
    for (let i = 0; i < 4; i++) budget.recordRequest();
    clock.now += 500;
    for (let i = 0; i < 4; i++) budget.recordRequest();
    // 600 ms after the first four, they have left the window; the last four have not.
    clock.now += 600;
    expect(drain(budget)).toBe(4);
  });
});
