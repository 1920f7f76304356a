/** Items taken from the head before the backing array is compacted. */
const COMPACT_AFTER = 1024;

/**
 * A first-in first-out queue whose `shift` is O(1). `Array#shift` copies the
 * whole array once it holds more than about 16K items (V8 then keeps it in
 * large-object space, where it cannot trim the front), and one read of 1-byte
 * messages queues 65,536: shifting them blocked the event loop for seconds.
 */
export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The item `index` places from the head, without taking it. */
  at(index: number): T | undefined {
    return index < this.length ? this.items[this.head + index] : undefined;
  }

  shift(): T | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.clear();
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= this.items.length) {
      // Amortised O(1): at least as many items were taken as are copied.
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}
