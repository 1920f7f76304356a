import { describe, expect, it } from 'vitest';
import { LinkedQueue } from '../../../lib/client/linked-queue.js';

describe('LinkedQueue', () => {
  it('is first in, first out', () => {
    const queue = new LinkedQueue<number>();
    [1, 2, 3].forEach((n) => queue.push(n));
    expect([queue.shift(), queue.shift(), queue.size]).toEqual([1, 2, 1]);
    expect([queue.shift(), queue.shift(), queue.size]).toEqual([3, undefined, 0]);
  });

  it('lets a value leave from anywhere through its slot, once', () => {
    const queue = new LinkedQueue<string>();
    const [a, b, c] = ['a', 'b', 'c'].map((value) => queue.push(value));
    queue.remove(b!);
    queue.remove(b!);
    expect([...queue]).toEqual(['a', 'c']);
    queue.remove(c!);
    queue.remove(a!);
    expect([queue.size, [...queue]]).toEqual([0, []]);
    queue.push('d');
    expect([...queue]).toEqual(['d']);
  });

  it('ignores a slot that left by shift or drain, even once pushed to another queue', () => {
    const queue = new LinkedQueue<string>();
    const other = new LinkedQueue<string>();
    const a = queue.push('a');
    queue.push('b');
    queue.shift();
    other.remove(a);
    queue.remove(a);
    expect(queue.drain()).toEqual(['b']);
    expect(queue.size).toBe(0);
  });
});
