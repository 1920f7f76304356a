import { setTimeout as sleep } from 'node:timers/promises';

/** How often and how patiently to retry. */
export interface BackoffPolicy {
  /** Attempts in all, at least 1. */
  readonly attempts: number;
  /** The wait after the n-th failure is n times this, in ms. */
  readonly baseMs: number;
}

/** Called after a failed attempt that will be retried. */
export type RetryListener = (error: unknown, attempt: number, delayMs: number) => void;

/**
 * The wait after `failures` failed attempts: linear, as the Python client's
 * `time.sleep(retries)` (1 s, 2 s, 3 s... with a 1,000 ms base).
 */
export function backoffDelay(failures: number, baseMs: number): number {
  return failures * baseMs;
}

/**
 * Runs `attempt` up to `policy.attempts` times, waiting between tries, and
 * returns its first result. Rethrows the last error once every attempt
 * failed, or as soon as `keepGoing()` says false after a failure, or
 * `signal.reason` as soon as `signal` aborts (waits included).
 */
export async function retryWithBackoff<T>(
  attempt: () => Promise<T>,
  policy: BackoffPolicy,
  signal: AbortSignal,
  onRetry?: RetryListener,
  keepGoing: () => boolean = () => true,
): Promise<T> {
  for (let failures = 0; ; ) {
    signal.throwIfAborted();
    try {
      return await attempt();
    } catch (error) {
      signal.throwIfAborted();
      if (++failures >= policy.attempts || !keepGoing()) throw error;
      const delayMs = backoffDelay(failures, policy.baseMs);
      onRetry?.(error, failures, delayMs);
      await sleep(delayMs, undefined, { signal }).catch(() => signal.throwIfAborted());
      if (!keepGoing()) throw error;
    }
  }
}
