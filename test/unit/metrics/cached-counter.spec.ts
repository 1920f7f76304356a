import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CachedCounter } from '../../../lib/metrics/cached-counter.js';

const LABELS = ['a', 'b'];

/** Ours and prom-client's own, each in a registry of its own, with the same name and labels. */
function pair(labelNames = LABELS) {
  const registries = [new Registry(), new Registry()] as const;
  const ours = new CachedCounter({ name: 'test_total', help: 'Test', labelNames, registers: [registries[0]] });
  const theirs = new Counter({ name: 'test_total', help: 'Test', labelNames, registers: [registries[1]] });
  const lines = async () => Promise.all(registries.map(async (registry) => (await registry.metrics()).split('\n').sort()));
  return { ours, theirs, both: [ours, theirs] as Counter[], lines };
}

describe('CachedCounter', () => {
  it('is a prom-client Counter registered in the given registry', () => {
    const registry = new Registry();
    const metric = new CachedCounter({ name: 'test_total', help: 'Test', registers: [registry] });
    expect(metric).toBeInstanceOf(Counter);
    expect(registry.getSingleMetric('test_total')).toBe(metric);
  });

  it('writes the same lines as prom-client’s Counter, however it is counted', async () => {
    const { both, lines } = pair();
    for (const metric of both) {
      metric.labels('x', 'y').inc();
      metric.labels({ a: 'x', b: 'y' }).inc(2.5);
      metric.inc({ a: 'x', b: 'z' });
      metric.inc({ a: 'only' }, 4);
      metric.inc();
    }
    const [ours, theirs] = await lines();
    expect(ours).toEqual(theirs);
    expect(ours).toContain('test_total{a="x",b="y"} 3.5');
  });

  it('writes labels in labelNames order whatever the order of the object (prom-client keeps the object’s)', async () => {
    const { ours, lines } = pair();
    ours.inc({ b: 'z', a: 'x' });
    expect((await lines())[0]).toContain('test_total{a="x",b="z"} 1');
  });

  it('without labels, shows 0 before its first inc, as prom-client’s does', async () => {
    const { both, lines } = pair([]);
    let [ours, theirs] = await lines();
    expect(ours).toEqual(theirs);
    expect(ours).toContain('test_total 0');
    for (const metric of both) metric.inc(3);
    [ours, theirs] = await lines();
    expect(ours).toEqual(theirs);
    expect(ours).toContain('test_total 3');
  });

  it('hands out one child per label set; remove and reset drop label sets until their next inc, as prom-client does', async () => {
    const { ours, both, lines } = pair();
    const child = ours.labels('1', '2');
    expect(ours.labels({ b: '2', a: '1' })).toBe(child);
    // Children taken before remove and reset, kept by the caller as the recorders keep theirs.
    const kept = both.map((metric) => [metric.labels('1', '2'), metric.labels('3', '4')] as const);
    for (const [first, second] of kept) {
      first.inc(5);
      second.inc(6);
    }
    for (const metric of both) metric.remove('1', '2');
    expect((await lines())[0]).toEqual((await lines())[1]);
    expect((await lines())[0]).not.toContain('test_total{a="1",b="2"} 5');
    for (const [first] of kept) first.inc();
    for (const metric of both) metric.reset();
    let [mine, theirs] = await lines();
    expect(mine).toEqual(theirs);
    expect(mine.filter((line) => line.startsWith('test_total{'))).toEqual([]);
    for (const [, second] of kept) second.inc(2);
    [mine, theirs] = await lines();
    expect(mine).toEqual(theirs);
    expect(mine).toContain('test_total{a="3",b="4"} 2');
  });

  it('refuses what prom-client refuses: unknown labels, a wrong number of values, a decrease, a value not finite', () => {
    const { ours } = pair();
    expect(() => ours.labels({ c: '1' } as never)).toThrow(/"c" is not included/);
    expect(() => ours.labels('only one')).toThrow(/Invalid number of arguments/);
    expect(() => ours.labels('1', '2').inc(-1)).toThrow(/not possible to decrease/);
    expect(() => ours.labels('1', '2').inc(Number.NaN)).toThrow(TypeError);
  });
});
