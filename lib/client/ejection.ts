/** The ejection options, resolved. */
export interface EjectionSettings {
  /** Failures in a row that eject an endpoint (`ejectAfterFailures`); 0: never. */
  readonly afterFailures: number;
  /** Wait before the first probe, in ms (`ejectionBackoffMs`). */
  readonly backoffMs: number;
  /** Longest wait between probes, in ms (`ejectionBackoffMaxMs`). */
  readonly backoffMaxMs: number;
}

/**
 * One endpoint's record for outlier ejection: its failures in a row (a connection attempt
 * that failed, a request that timed out, a connection broken with requests in flight) and,
 * once ejected, the wait before its next probe: `backoffMs`, doubled after each failed probe,
 * at most `backoffMaxMs`. Any answer from the server clears the failures.
 */
export class Ejection {
  private failures = 0;
  private failedProbes = 0;

  constructor(private readonly settings: EjectionSettings) {}

  /** Failures since the last answer. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Counts a failure; true when the endpoint has now failed often enough in a row to be ejected. */
  fail(): boolean {
    const { afterFailures } = this.settings;
    return ++this.failures >= afterFailures && afterFailures > 0;
  }

  /** The server answered: the run of failures is over. */
  succeed(): void {
    this.failures = 0;
  }

  /** Milliseconds to wait before the next probe. */
  nextProbeDelayMs(): number {
    const { backoffMs, backoffMaxMs } = this.settings;
    // 2^30 times any base is past every timer already: stop doubling there.
    return Math.min(backoffMaxMs, backoffMs * 2 ** Math.min(this.failedProbes, 30));
  }

  /** A probe failed: the next waits twice as long (up to the cap). */
  probeFailed(): void {
    this.failedProbes++;
  }

  /** Readmitted, or reset by the client: a fresh record. */
  reset(): void {
    this.failures = 0;
    this.failedProbes = 0;
  }
}
