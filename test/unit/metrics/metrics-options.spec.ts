import { Registry, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_METRICS_HISTOGRAM_BUCKETS,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  ArrpcMetricsModule,
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
    ['maxErrorReasons', -1, /^Invalid metrics recorder option "maxErrorReasons": expected an integer from 0 up, got -1$/],
    ['maxErrorReasons', 1.5, /"maxErrorReasons".*got 1.5/],
    ['maxErrorReasons', '10', /"maxErrorReasons".*got "10"/],
    ['histogram', 'yes', /"histogram": expected a boolean or \{ buckets \}, got "yes"/],
    ['histogram', { buckets: [] }, /"histogram.buckets".*got an empty array/],
    ['histogram', { buckets: [1, 0.5] }, /"histogram.buckets".*strictly increasing.*got \[1, 0.5\]/],
    ['histogram', { buckets: [0.1, Infinity] }, /"histogram.buckets".*got \[0.1, Infinity\]/],
    ['registry', {}, /"registry": expected a prom-client Registry, got an object/],
  ])('refuses %s = %j, naming it', (name, value, message) => {
    const options = { [name]: value } as ArrpcMetricsOptions;
    expect(() => resolveMetricsOptions(options)).toThrow(TypeError);
    expect(() => resolveMetricsOptions(options)).toThrow(message);
    // The factories check their options before registering anything.
    expect(() => createServerMetricsRecorder(options)).toThrow(message);
    expect(() => createClientMetricsRecorder(options)).toThrow(message);
  });
});

describe('ArrpcMetricsModule.forRoot', () => {
  it.each<[string, object, string]>([
    ['a registry that is not one', { registry: {} }, 'Invalid ArrpcMetricsModule option "registry": expected a prom-client Registry, got an object'],
    ['an empty path', { path: '' }, 'Invalid ArrpcMetricsModule option "path": expected a non-empty string, got ""'],
    ['a non-boolean defaultMetrics', { defaultMetrics: 'no' }, 'Invalid ArrpcMetricsModule option "defaultMetrics": expected true or false, got "no"'],
    ['a non-boolean isGlobal', { isGlobal: 1 }, 'Invalid ArrpcMetricsModule option "isGlobal": expected true or false, got 1'],
    ['a misspelt option', { regsitry: new Registry() }, 'Invalid ArrpcMetricsModule option "regsitry": no such option'],
  ])('refuses %s, in the format of every option error', (_name, options, message) => {
    expect(() => ArrpcMetricsModule.forRoot(options as never)).toThrow(new TypeError(message));
  });
});
