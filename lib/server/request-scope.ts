/** setTimeout's largest delay; a deadline further away gets no timer (it would fire at once). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The deadline of one running message and its abort signal. The
 * `AbortController` and its timer are made only when a handler asks for the
 * signal: most never do, and this is the hot path. An abort that happens
 * before then is remembered and shows on the signal when it is made.
 */
export class RequestScope {
  private controller: AbortController | undefined;
  private timer: NodeJS.Timeout | undefined;
  private abortReason: unknown;
  private ended = false;

  /** @param deadline Epoch milliseconds after which the caller no longer waits, or undefined. */
  constructor(readonly deadline: number | undefined) {}

  /** True when the deadline has passed. */
  get expired(): boolean {
    return this.deadline !== undefined && Date.now() >= this.deadline;
  }

  /** The signal, made on the first call; it fires at the deadline or on {@link abort}. */
  signal(): AbortSignal {
    if (this.controller) return this.controller.signal;
    const controller = (this.controller = new AbortController());
    if (this.abortReason !== undefined) controller.abort(this.abortReason);
    else if (!this.ended && this.deadline !== undefined) this.armDeadline(controller, this.deadline);
    return controller.signal;
  }

  /** Aborts the handler's work: its connection closed, or the drain deadline came. */
  abort(reason: unknown): void {
    if (this.ended || this.abortReason !== undefined) return;
    this.abortReason = reason;
    this.clearTimer();
    this.controller?.abort(reason);
  }

  /** The handler finished: nothing aborts it any more. */
  end(): void {
    this.ended = true;
    this.clearTimer();
  }

  private armDeadline(controller: AbortController, deadline: number): void {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return controller.abort(deadlineReason());
    if (remaining > MAX_TIMER_MS) return;
    this.timer = setTimeout(() => controller.abort(deadlineReason()), remaining);
    // A pending deadline must not keep the process alive.
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The abort reason at the caller's deadline, shaped like `AbortSignal.timeout()`'s. */
function deadlineReason(): DOMException {
  return new DOMException('the deadline passed', 'TimeoutError');
}

/** The abort reason when the connection or the server closes under a handler. */
export function closedReason(what: string): DOMException {
  return new DOMException(what, 'AbortError');
}
