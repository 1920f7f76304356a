import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Registry, register } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ARRPC_METRICS_REGISTRY,
  ArrpcMetricsModule,
  createClientMetricsRecorder,
  createServerMetricsRecorder,
  type ArrpcMetricsModuleOptions,
} from '../../../lib/index.js';
import { familyShape, parseExposition, referenceFamilies, sampleValue } from '../../support/exposition.js';
import { itWithWire } from '../../support/vectors.js';

const apps: INestApplication[] = [];

/** A real Nest HTTP app (Express) importing ArrpcMetricsModule, listening on 127.0.0.1. */
async function startApp(options?: ArrpcMetricsModuleOptions): Promise<{ app: INestApplication; base: string }> {
  @Module({ imports: [ArrpcMetricsModule.forRoot(options)] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  apps.push(app);
  await app.listen(0, '127.0.0.1');
  return { app, base: await app.getUrl() };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

describe('ArrpcMetricsModule in a Nest HTTP app', () => {
  describe('with prom-client’s global registry (the default on both sides)', () => {
    // The only tests that touch the global registry: they clear it around themselves.
    beforeEach(() => register.clear());
    afterEach(() => register.clear());

    itWithWire('serves what the recorders write at /metrics, in the reference’s shape', async () => {
      const server = createServerMetricsRecorder().forConnection('::ffff:127.0.0.1', false);
      const client = createClientMetricsRecorder().forEndpoint('127.0.0.1:36333', true, false);
      server.request('handler', 'arrpc', true, 0.004, 95);
      server.request('handler', 'arrpc', true, 0.006, 95);
      server.error('handler', true, 'boom');
      client.request('arrpc', 0.01, 95);
      client.error('boom');

      const { base } = await startApp({ defaultMetrics: false });
      const response = await fetch(`${base}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const families = parseExposition(await response.text());
      for (const side of ['server', 'client'] as const) {
        for (const [name, family] of referenceFamilies(side)) {
          expect(familyShape(families.get(name)!)).toEqual(familyShape(family));
        }
      }
      expect(sampleValue(families, 'arrpc_server_req_seconds_count', { remote_address: '127.0.0.1' })).toBe(2);
      expect(sampleValue(families, 'arrpc_server_req_bytes_sum', { signed_payload: 'True', tls: 'False' })).toBe(190);
      expect(sampleValue(families, 'arrpc_client_errors_total', { reason: 'boom' })).toBe(1);
    });

    it('collects prom-client’s default metrics unless told not to, once per registry', async () => {
      const { base } = await startApp();
      // A second app in the same process on the same registry does not collect them again.
      const second = await startApp();
      for (const url of [`${base}/metrics`, `${second.base}/metrics`]) {
        expect(await (await fetch(url)).text()).toContain('process_cpu_user_seconds_total');
      }
    });

    it('collects none with defaultMetrics: false', async () => {
      const { base } = await startApp({ defaultMetrics: false });
      expect(await (await fetch(`${base}/metrics`)).text()).not.toContain('process_cpu_user_seconds_total');
    });
  });

  it('serves a registry of its own at a path of its own, and provides it for injection', async () => {
    const registry = new Registry();
    const { app, base } = await startApp({ registry, path: '/internal/metrics', defaultMetrics: true, isGlobal: true });
    expect(app.get(ARRPC_METRICS_REGISTRY)).toBe(registry);

    createServerMetricsRecorder({ registry }).forConnection('10.0.0.9', true).request('h', 'p', false, 1, 3);
    const response = await fetch(`${base}/internal/metrics`);
    expect(response.status).toBe(200);
    const text = await response.text();
    const families = parseExposition(text);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', { tls: 'True', remote_address: '10.0.0.9' })).toBe(3);
    expect(text).toContain('process_cpu_user_seconds_total');
    // Nothing went to the global registry, and /metrics is not served.
    expect(register.getSingleMetric('arrpc_server_req_seconds')).toBeUndefined();
    expect((await fetch(`${base}/metrics`)).status).toBe(404);
  });
});
