/** A place in a {@link LinkedQueue}, kept by whoever may leave the queue early. */
export interface QueueSlot<T> {
  readonly value: T;
  previous: QueueSlot<T> | undefined;
  next: QueueSlot<T> | undefined;
  /** The queue it is in; `undefined` once it left. */
  queue: LinkedQueue<T> | undefined;
}

/**
 * A first-in first-out queue that a value may also leave from the middle, in constant time,
 * through the slot `push` gave it: a call that times out or is cancelled while it waits leaves
 * without a scan of the calls ahead of it.
 */
export class LinkedQueue<T> {
  private head: QueueSlot<T> | undefined;
  private tail: QueueSlot<T> | undefined;
  private count = 0;

  /** Values in the queue. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` at the end; returns its slot, for {@link remove}. */
  push(value: T): QueueSlot<T> {
    const slot: QueueSlot<T> = { value, previous: this.tail, next: undefined, queue: this };
    if (this.tail === undefined) this.head = slot;
    else this.tail.next = slot;
    this.tail = slot;
    this.count++;
    return slot;
  }

  /** Takes the oldest value out; `undefined` when empty. */
  shift(): T | undefined {
    const slot = this.head;
    if (slot === undefined) return undefined;
    this.remove(slot);
    return slot.value;
  }

  /** Takes `slot` out wherever it is; nothing when it already left. */
  remove(slot: QueueSlot<T>): void {
    if (slot.queue !== this) return;
    if (slot.previous === undefined) this.head = slot.next;
    else slot.previous.next = slot.next;
    if (slot.next === undefined) this.tail = slot.previous;
    else slot.next.previous = slot.previous;
    slot.previous = slot.next = slot.queue = undefined;
    this.count--;
  }

  /** Empties the queue; returns what was in it, oldest first. */
  drain(): T[] {
    const values = [...this];
    while (this.head !== undefined) this.remove(this.head);
    return values;
  }

  /** The values, oldest first; take a copy (`[...queue]`) to change the queue meanwhile. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let slot = this.head; slot !== undefined; slot = slot.next) yield slot.value;
  }
}
