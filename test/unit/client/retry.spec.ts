import { describe, expect, it } from 'vitest';
import { backoffDelay, retryWithBackoff } from '../../../lib/client/retry.js';

/** An attempt that fails `failures` times, then returns `'ok'`; counts its calls. */
function flaky(failures: number) {
  const state = { calls: 0 };
  const attempt = async (): Promise<string> => {
    if (++state.calls <= failures) throw new Error(`failure ${state.calls}`);
    return 'ok';
  };
  return { state, attempt };
}

describe('backoffDelay', () => {
  it('grows linearly, as the Python client sleeps 1 s, 2 s, 3 s...', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 1000))).toEqual([1000, 2000, 3000, 4000]);
    expect(backoffDelay(3, 0)).toBe(0);
  });
});

describe('retryWithBackoff', () => {
  const signal = new AbortController().signal;

  it('returns the first success, reporting each retried failure with its wait', async () => {
    const { state, attempt } = flaky(2);
    const retries: [string, number, number][] = [];
    const result = await retryWithBackoff(attempt, { attempts: 5, baseMs: 1 }, signal, (error, n, delay) =>
      retries.push([(error as Error).message, n, delay]),
    );
    expect(result).toBe('ok');
    expect(state.calls).toBe(3);
    expect(retries).toEqual([['failure 1', 1, 1], ['failure 2', 2, 2]]);
  });

  it('makes exactly `attempts` attempts, then rethrows the last error', async () => {
    const { state, attempt } = flaky(10);
    await expect(retryWithBackoff(attempt, { attempts: 3, baseMs: 0 }, signal)).rejects.toThrow('failure 3');
    expect(state.calls).toBe(3);
  });

  it('stops waiting and rethrows the abort reason as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const { state, attempt } = flaky(10);
    const reason = new Error('closed');
    const started = performance.now();
    const pending = retryWithBackoff(attempt, { attempts: 3, baseMs: 10_000 }, controller.signal);
    setTimeout(() => controller.abort(reason), 10);
    await expect(pending).rejects.toBe(reason);
    expect(state.calls).toBe(1);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
