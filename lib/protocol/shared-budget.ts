/**
 * A budget several decoders draw from: what messages still arriving hold, over every
 * connection of a server. One peer can then hold at most one message's worth, and many
 * peers together at most `limit`, however many connections they open.
 */
export class SharedBudget {
  private used = 0;

  /** `limit` is in the decoder's cost units (bytes plus per-value charges, see `MessageDecoder`). */
  constructor(readonly limit: number) {}

  /** What the decoders hold now. */
  get inUse(): number {
    return this.used;
  }

  /** Takes `amount` when it fits and returns true; else takes nothing and returns false. */
  tryTake(amount: number): boolean {
    if (this.used + amount > this.limit) return false;
    this.used += amount;
    return true;
  }

  give(amount: number): void {
    this.used -= amount;
  }
}
