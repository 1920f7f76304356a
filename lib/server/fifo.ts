/** Room a queue makes on its first push; a power of two, as every capacity is. */
const INITIAL_CAPACITY = 4;
/** A queue that emptied with more room than this gives it back (one burst must not hold memory for good). */
const RETAINED_CAPACITY = 1024;
/** No items: what a queue holds before its first push and after giving its room back. */
const NO_ROOM: readonly undefined[] = Object.freeze([]);

/**
 * A first-in first-out queue over a ring of slots: `push` and `shift` are O(1)
 * and allocate nothing while there is room. `Array#shift` copies the whole
 * array once it holds more than about 16K items, and one read of 1-byte
 * messages queues 65,536: shifting them blocked the event loop for seconds.
 * With one message in flight each queue is emptied after every message, so it
 * keeps its room rather than allocating an array per message (two per request).
 */
export class Fifo<T> {
  private items: (T | undefined)[] = NO_ROOM as (T | undefined)[];
  /** Index of the head item in `items`. */
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.count === this.items.length) this.grow();
    // Capacities are powers of two: the mask wraps the index.
    this.items[(this.head + this.count) & (this.items.length - 1)] = item;
    this.count++;
  }

  /** The item `index` places from the head, without taking it. */
  at(index: number): T | undefined {
    return index < this.count ? this.items[(this.head + index) & (this.items.length - 1)] : undefined;
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.count--;
    if (this.count === 0) {
      this.head = 0;
      if (this.items.length > RETAINED_CAPACITY) this.items = NO_ROOM as (T | undefined)[];
    } else {
      this.head = (this.head + 1) & (this.items.length - 1);
    }
    return item;
  }

  clear(): void {
    this.items = NO_ROOM as (T | undefined)[];
    this.head = 0;
    this.count = 0;
  }

  /** Doubles the room, the items moved to its start in order. */
  private grow(): void {
    const capacity = Math.max(INITIAL_CAPACITY, this.items.length * 2);
    const items = new Array<T | undefined>(capacity).fill(undefined);
    for (let i = 0; i < this.count; i++) items[i] = this.items[(this.head + i) & (this.items.length - 1)];
    this.items = items;
    this.head = 0;
  }
}
