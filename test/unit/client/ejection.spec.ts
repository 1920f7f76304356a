// Failures in a row and the probe back-off of one endpoint.
import { describe, expect, it } from 'vitest';
import { Ejection } from '../../../lib/client/ejection.js';

describe('Ejection', () => {
  it('ejects at the n-th failure in a row; an answer starts the count again', () => {
    const ejection = new Ejection({ afterFailures: 3, backoffMs: 1_000, backoffMaxMs: 30_000 });
    expect([ejection.fail(), ejection.fail()]).toEqual([false, false]);
    ejection.succeed();
    expect([ejection.fail(), ejection.fail(), ejection.fail()]).toEqual([false, false, true]);
    expect(ejection.consecutiveFailures).toBe(3);
  });

  it('never ejects with afterFailures 0', () => {
    const ejection = new Ejection({ afterFailures: 0, backoffMs: 1_000, backoffMaxMs: 30_000 });
    expect(Array.from({ length: 5 }, () => ejection.fail())).toEqual([false, false, false, false, false]);
    expect(ejection.consecutiveFailures).toBe(5);
  });

  it('waits 1 s before the first probe, doubling after each failed one up to 30 s', () => {
    const ejection = new Ejection({ afterFailures: 3, backoffMs: 1_000, backoffMaxMs: 30_000 });
    const delays: number[] = [];
    for (let i = 0; i < 8; i++) {
      delays.push(ejection.nextProbeDelayMs());
      ejection.probeFailed();
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    ejection.reset();
    expect([ejection.nextProbeDelayMs(), ejection.consecutiveFailures]).toEqual([1_000, 0]);
  });

  it('never overflows however many probes fail', () => {
    const ejection = new Ejection({ afterFailures: 1, backoffMs: 5, backoffMaxMs: 2 ** 31 - 1 });
    for (let i = 0; i < 2_000; i++) ejection.probeFailed();
    expect(ejection.nextProbeDelayMs()).toBe(2 ** 31 - 1);
  });
});
