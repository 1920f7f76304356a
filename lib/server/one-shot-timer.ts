/** A `setTimeout` that is armed once at a time; arming it again while armed does nothing. */
export class OneShotTimer {
  private timer: NodeJS.Timeout | undefined;

  /** Calls `onFire` after `ms` milliseconds, unless already armed. `unref` lets the process exit meanwhile. */
  arm(ms: number, onFire: () => void, unref = false): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      onFire();
    }, ms);
    if (unref) this.timer.unref();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
