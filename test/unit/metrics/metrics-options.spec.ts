import { Registry, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_METRICS_HISTOGRAM_BUCKETS,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  createClientMetricsRecorder,
  createServerMetricsRecorder,
  type ArrpcMetricsOptions,
} from '../../../lib/index.js';
import { resolveMetricsOptions } from '../../../lib/metrics/metrics-options.js';

describe('resolveMetricsOptions', () => {
  it('fills in the defaults: global registry, no histogram, the reason bound', () => {
    const resolved = resolveMetricsOptions();
    expect(resolved).toEqual({ registry: register, histogramBuckets: null, maxErrorReasons: DEFAULT_METRICS_MAX_ERROR_REASONS });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it.each<[ArrpcMetricsOptions['histogram'], readonly number[] | null]>([
    [false, null],
    [true, DEFAULT_METRICS_HISTOGRAM_BUCKETS],
    [{}, DEFAULT_METRICS_HISTOGRAM_BUCKETS],
    [{ buckets: [0.1, 1, 10] }, [0.1, 1, 10]],
  ])('histogram %j gives buckets %j', (histogram, buckets) => {
    expect(resolveMetricsOptions({ registry: new Registry(), histogram }).histogramBuckets).toEqual(buckets);
  });

  it.each<[string, unknown, RegExp]>([
    ['maxErrorReasons', -1, /"maxErrorReasons": expected an integer, 0 or more, got -1/],
    ['maxErrorReasons', 1.5, /"maxErrorReasons".*got 1.5/],
    ['maxErrorReasons', '10', /"maxErrorReasons".*got "10"/],
    ['histogram', 'yes', /"histogram": expected a boolean or \{ buckets \}, got "yes"/],
    ['histogram', { buckets: [] }, /"histogram.buckets".*got \[\]/],
    ['histogram', { buckets: [1, 0.5] }, /"histogram.buckets".*strictly increasing.*got \[1, 0.5\]/],
    ['histogram', { buckets: [0.1, Infinity] }, /"histogram.buckets".*got \[0.1, Infinity\]/],
    ['registry', {}, /"registry": expected a prom-client Registry, got Object/],
  ])('refuses %s = %j, naming it', (name, value, message) => {
    const options = { [name]: value } as ArrpcMetricsOptions;
    expect(() => resolveMetricsOptions(options)).toThrow(TypeError);
    expect(() => resolveMetricsOptions(options)).toThrow(message);
    // The factories check their options before registering anything.
    expect(() => createServerMetricsRecorder(options)).toThrow(message);
    expect(() => createClientMetricsRecorder(options)).toThrow(message);
  });
});
