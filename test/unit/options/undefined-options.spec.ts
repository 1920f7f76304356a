// An option set to `undefined` is the same as one left out, on every side: `authSecret:
// process.env.ARRPC_SECRET` with the variable unset means no secret, not an error. (That such
// values type-check under exactOptionalPropertyTypes is test/types/exact-optional.ts's job.)
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ArrpcMetricsModule, ArrpcServer, resolveClientOptions, resolveServerOptions } from '../../../lib/index.js';
import { resolveMetricsOptions } from '../../../lib/metrics/metrics-options.js';

/** Every key of `resolved` set to undefined, but those in `derived` (resolved fields that are no option). */
const allUndefined = (resolved: object, derived: string[] = []): Record<string, undefined> =>
  Object.fromEntries(Object.keys(resolved).filter((key) => !derived.includes(key)).map((key) => [key, undefined]));

describe('options set to undefined', () => {
  it('resolve as left out, for every server option', () => {
    const defaults = resolveServerOptions({});
    const given = allUndefined(defaults, ['useTls']);
    expect(Object.keys(given)).toContain('authSecret');
    expect(resolveServerOptions(given)).toEqual(defaults);
    expect(() => new ArrpcServer(given)).not.toThrow();
  });

  it('resolve as left out, for every client option', () => {
    const defaults = resolveClientOptions({ port: 1 });
    const resolved = resolveClientOptions({ ...allUndefined(defaults), port: 1 });
    expect(resolved).toEqual(defaults);
    expect(resolved.authSecret).toBeUndefined();
  });

  it('resolve as left out inside retryBudget, probe and metricsHistogram', () => {
    const resolved = resolveClientOptions({
      port: 1,
      retryBudget: { ratio: undefined, windowMs: undefined, minPerSecond: undefined },
      probe: { message: 'ping', expect: undefined },
      metricsHistogram: { buckets: undefined },
    });
    expect(resolved.retryBudget).toEqual(resolveClientOptions({ port: 1 }).retryBudget);
    // No `expect` key: any answer that is not an error readmits, as when it is left out.
    expect(resolved.probe).toStrictEqual({ message: 'ping' });
    expect(resolved.metricsHistogram).toEqual({});
  });

  it('resolve as left out for the metrics recorders and ArrpcMetricsModule', () => {
    expect(resolveMetricsOptions({ registry: undefined, histogram: undefined, maxErrorReasons: undefined })).toEqual(resolveMetricsOptions({}));
    const registry = new Registry();
    const module = ArrpcMetricsModule.forRoot({ registry, path: undefined, defaultMetrics: undefined, isGlobal: undefined });
    expect(module.global).toBe(false);
  });
});
