// @nestjs/observe on both apps: an HTTP app whose ArrpcClient it instruments (it sets the
// client's one dispatch hook to send `x-request-id`), and an arrpc microservice whose processing
// hooks read it back from ArrpcContext.getMetadata(). One trace id on both sides; with
// OpenTelemetry registered as well, the `meta` carries both and both traces hold.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern } from '@nestjs/microservices';
import { createObserveModule, defaultTraceIdGenerator } from '@nestjs/observe';
import { SpanKind } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { ArrpcClient, ArrpcContext, ArrpcModule, ArrpcServer } from '../../../lib/index.js';
import { listen } from '../../support/sockets.js';
import { endedSpan, parentOf, registerTracing } from '../../support/tracing.js';
import { useCleanup } from '../client/helpers.js';
import { portOf } from '../server/helpers.js';

/** A stand-in for observe's collector: accepts every upload, keeps nothing. */
async function startCollector(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())).then(() => server.closeAllConnections()),
  };
}

/** observe's module for one app, recording every trace id it assigns. */
function observeFor(serviceId: string, collector: string, traceIds: string[]) {
  const { ObserveModule, ObserveInstrument } = createObserveModule({
    attachTraceIdToLogs: false,
    traceIdGenerator: (request: unknown) => {
      const id = defaultTraceIdGenerator(request);
      traceIds.push(id);
      return id;
    },
  });
  const module = ObserveModule.forRoot({
    appKey: 'test',
    appSecret: 'test',
    serviceId,
    endpoint: collector,
    runtimeMetrics: false,
    forwardLogs: false,
  });
  return { module, instrument: ObserveInstrument };
}

@Controller()
class BackendController {
  @MessagePattern('trace.id')
  traceId(@Ctx() ctx: ArrpcContext): string | undefined {
    return ctx.getMetadata()?.['x-request-id'];
  }

  @MessagePattern('trace.meta')
  meta(@Ctx() ctx: ArrpcContext): Readonly<Record<string, string>> | undefined {
    return ctx.getMetadata();
  }
}

/** A backend microservice and an HTTP gateway calling it, each with observe; ids it assigned. */
async function startApps(track: ReturnType<typeof useCleanup>): Promise<{ port: number; gatewayIds: string[]; backendIds: string[] }> {
  const collector = track(await startCollector());
  const backendIds: string[] = [];
  const gatewayIds: string[] = [];

  const backendObserve = observeFor('backend', collector.url, backendIds);
  @Module({ imports: [backendObserve.module], controllers: [BackendController] })
  class BackendModule {}
  const server = new ArrpcServer({ port: 0 });
  const backend = await NestFactory.createMicroservice(BackendModule, { strategy: server, logger: false, instrument: backendObserve.instrument });
  await backend.listen();
  track(backend);

  const gatewayObserve = observeFor('gateway', collector.url, gatewayIds);
  @Controller()
  class GatewayController {
    constructor(@Inject(ArrpcClient) private readonly client: ArrpcClient) {}

    @Get('trace')
    async trace(): Promise<{ seenByBackend: string | undefined }> {
      return { seenByBackend: await this.client.call<string | undefined>('trace.id', null) };
    }

    @Get('meta')
    meta(): Promise<Record<string, string> | undefined> {
      return this.client.call('trace.meta', null);
    }
  }
  @Module({
    imports: [gatewayObserve.module, ArrpcModule.forRoot({ port: portOf(server), peer: 'nestjs-arrpc' })],
    controllers: [GatewayController],
  })
  class GatewayModule {}
  const gateway = await NestFactory.create(GatewayModule, { logger: false, forceCloseConnections: true, instrument: gatewayObserve.instrument });
  await gateway.listen(0, '127.0.0.1');
  track(gateway);
  const { port } = gateway.getHttpServer().address() as AddressInfo;
  return { port, gatewayIds, backendIds };
}

describe('@nestjs/observe across the hop', () => {
  const track = useCleanup();

  it('gives the HTTP request and the arrpc handler one trace id', async () => {
    const { port, gatewayIds, backendIds } = await startApps(track);
    const response = await fetch(`http://127.0.0.1:${port}/trace`);
    const { seenByBackend } = (await response.json()) as { seenByBackend?: string };

    expect(response.status).toBe(200);
    expect(gatewayIds).toHaveLength(1);
    expect(seenByBackend).toBe(gatewayIds[0]);
    expect(backendIds).toEqual([gatewayIds[0]]);
  });

  it('keeps its id beside OpenTelemetry, whose client span parents the handler span', async () => {
    const tracing = registerTracing();
    try {
      const { port, gatewayIds, backendIds } = await startApps(track);
      const response = await fetch(`http://127.0.0.1:${port}/meta`);
      const meta = (await response.json()) as Record<string, string>;

      const client = await endedSpan(tracing.exporter, 'trace.meta', SpanKind.CLIENT);
      const server = await endedSpan(tracing.exporter, 'trace.meta', SpanKind.SERVER);
      const { traceId, spanId } = client.spanContext();
      expect(meta['x-request-id']).toBe(gatewayIds[0]);
      expect(meta['traceparent']).toBe(`00-${traceId}-${spanId}-01`);
      expect(backendIds).toEqual([gatewayIds[0]]);
      expect(server.spanContext().traceId).toBe(traceId);
      expect(parentOf(server)).toBe(spanId);
    } finally {
      await tracing.close();
    }
  });
});
