import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../lib/server/fifo.js';

describe('Fifo', () => {
  it('gives items back in the order they came, with at() peeking from the head', () => {
    const fifo = new Fifo<number>();
    expect(fifo.shift()).toBeUndefined();
    for (let i = 0; i < 5; i++) fifo.push(i);
    expect(fifo.length).toBe(5);
    expect(fifo.at(0)).toBe(0);
    expect(fifo.at(1)).toBe(1);
    expect(fifo.at(5)).toBeUndefined();
    expect(fifo.shift()).toBe(0);
    expect(fifo.at(0)).toBe(1);
    expect(fifo.length).toBe(4);
    fifo.clear();
    expect(fifo.length).toBe(0);
    expect(fifo.at(0)).toBeUndefined();
  });

  it('keeps order as the ring wraps around and grows while items are pushed and shifted in turn', () => {
    const fifo = new Fifo<number>();
    const taken: number[] = [];
    let next = 0;
    for (let round = 0; round < 10_000; round++) {
      fifo.push(next++);
      fifo.push(next++);
      taken.push(fifo.shift()!);
    }
    while (fifo.length > 0) taken.push(fifo.shift()!);
    expect(taken).toEqual(Array.from({ length: next }, (_, i) => i));
  });

  it('peeks the right items once the ring has wrapped around', () => {
    const fifo = new Fifo<number>();
    for (let i = 0; i < 6; i++) fifo.push(i);
    for (let i = 0; i < 5; i++) fifo.shift();
    for (let i = 6; i < 12; i++) fifo.push(i);
    expect(Array.from({ length: fifo.length }, (_, i) => fifo.at(i))).toEqual([5, 6, 7, 8, 9, 10, 11]);
    expect(fifo.at(7)).toBeUndefined();
  });

  it('shifts 200,000 items in linear time (Array#shift is quadratic past ~16K items)', () => {
    const fifo = new Fifo<object>();
    for (let i = 0; i < 200_000; i++) fifo.push({ i });
    const startedAt = performance.now();
    while (fifo.length > 0) fifo.shift();
    // An array shifted item by item takes tens of seconds here; the queue takes milliseconds.
    expect(performance.now() - startedAt).toBeLessThan(1000);
  });
});
