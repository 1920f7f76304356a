/** The `retryBudget` option, resolved. */
export interface RetryBudgetSettings {
  /** Share of the window's requests that may be re-sent. */
  readonly ratio: number;
  /** The window, in ms. */
  readonly windowMs: number;
  /** Re-sends allowed per second of the window, whatever the traffic. */
  readonly minPerSecond: number;
}

/** The window is kept as this many buckets; each expires whole as time moves on. */
const BUCKETS = 10;

/**
 * How many written requests may be sent again (Finagle's retry budget): within the last
 * `windowMs`, re-sends may reach `ratio` × requests + `minPerSecond` × the window's seconds.
 * During an outage every request may fail, and retrying each would double the load on the
 * servers still up; the budget caps that extra load near `ratio`, while the per-second
 * reserve lets a quiet client still retry its occasional failure.
 *
 * Counts live in {@link BUCKETS} buckets of `windowMs / BUCKETS`, so the window slides in
 * steps of a tenth of its length.
 */
export class RetryBudget {
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private readonly bucketMs: number;
  private readonly reserve: number;
  /** Index (time / bucketMs) of the newest bucket written. */
  private current = -1;

  constructor(
    private readonly settings: RetryBudgetSettings,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bucketMs = settings.windowMs / BUCKETS;
    this.reserve = (settings.minPerSecond * settings.windowMs) / 1000;
  }

  /** Counts one request (a call submitted, not a re-send). */
  recordRequest(): void {
    this.requests[this.advance()]!++;
  }

  /** Takes one re-send from the budget when there is one left; false when it is spent. */
  tryRetry(): boolean {
    const slot = this.advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      requests += this.requests[i]!;
      retries += this.retries[i]!;
    }
    if (retries + 1 > this.settings.ratio * requests + this.reserve) return false;
    this.retries[slot]!++;
    return true;
  }

  /** Clears the buckets that left the window; returns the slot of the current one. */
  private advance(): number {
    const index = Math.floor(this.now() / this.bucketMs);
    if (index !== this.current) {
      const stale = Math.min(BUCKETS, index - this.current);
      for (let i = 1; i <= stale; i++) {
        const slot = (this.current + i) % BUCKETS;
        this.requests[slot] = 0;
        this.retries[slot] = 0;
      }
      this.current = index;
    }
    return index % BUCKETS;
  }
}
