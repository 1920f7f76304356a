import { Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SumCountSummary } from '../../../lib/metrics/sum-count-summary.js';
import { parseExposition, sampleValue } from '../../support/exposition.js';

function summary(registry = new Registry()) {
  return new SumCountSummary({ name: 'test_seconds', help: 'Test', labelNames: ['a', 'b'], registers: [registry] });
}

describe('SumCountSummary', () => {
  it('is a prom-client Summary registered in the given registry', () => {
    const registry = new Registry();
    const metric = summary(registry);
    expect(metric).toBeInstanceOf(Summary);
    expect(registry.getSingleMetric('test_seconds')).toBe(metric);
  });

  it('writes the same lines as prom-client’s Summary with no percentiles', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const mine = summary(ours);
    const reference = new Summary({ name: 'test_seconds', help: 'Test', labelNames: ['a', 'b'], percentiles: [], registers: [theirs] });
    for (const [a, b, v] of [['x', 'y', 1], ['x', 'y', 2.5], ['x', 'z', 4]] as const) {
      mine.labels(a, b).observe(v);
      reference.labels(a, b).observe(v);
    }
    const sorted = (text: string) => text.split('\n').sort();
    expect(sorted(await ours.metrics())).toEqual(sorted(await theirs.metrics()));
  });

  it('hands out one child per label set, however it is asked for', () => {
    const metric = summary();
    const child = metric.labels('1', '2');
    expect(metric.labels({ a: '1', b: '2' })).toBe(child);
    metric.observe({ b: '2', a: '1' }, 3);
    expect([child.count, child.sum]).toEqual([1, 3]);
  });

  it('supports partial label sets, startTimer, remove, reset and getMetricsAsJSON', async () => {
    const registry = new Registry();
    const metric = summary(registry);
    metric.observe({ a: 'only' }, 2);
    const seconds = metric.labels('t', 't').startTimer()();
    expect(seconds).toBeGreaterThanOrEqual(0);
    let families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'test_seconds_sum', { a: 'only' })).toBe(2);
    expect(families.get('test_seconds')!.samples.find((s) => s.labels['a'] === 'only')!.labelNames).toEqual(['a']);

    metric.remove('t', 't');
    expect(sampleValue(parseExposition(await registry.metrics()), 'test_seconds_count', { a: 't' })).toBeUndefined();

    registry.resetMetrics();
    families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'test_seconds_count', { a: 'only' })).toBe(0);
    const [json] = await registry.getMetricsAsJSON();
    expect(json).toMatchObject({ name: 'test_seconds', type: 'summary', aggregator: 'sum' });
  });

  it('refuses unknown labels, a wrong number of values and values that are not finite', () => {
    const metric = summary();
    expect(() => metric.labels({ c: '1' } as never)).toThrow(/"c" is not included/);
    expect(() => metric.labels('only one')).toThrow(/Invalid number of arguments/);
    expect(() => metric.labels('1', '2').observe(Number.NaN)).toThrow(TypeError);
  });
});
