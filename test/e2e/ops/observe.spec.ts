// @nestjs/observe on both apps: an HTTP app whose ArrpcClient it instruments (it sets the
// client's one dispatch hook to send `x-request-id`), and an arrpc microservice whose processing
// hooks read it back from ArrpcContext.getMetadata(). One trace id on both sides.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern } from '@nestjs/microservices';
import { createObserveModule, defaultTraceIdGenerator } from '@nestjs/observe';
import { describe, expect, it } from 'vitest';
import { ArrpcClient, ArrpcContext, ArrpcModule, ArrpcServer } from '../../../lib/index.js';
import { listen } from '../../support/sockets.js';
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
}

describe('@nestjs/observe across the hop', () => {
  const track = useCleanup();

  it('gives the HTTP request and the arrpc handler one trace id', async () => {
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

    const response = await fetch(`http://127.0.0.1:${port}/trace`);
    const { seenByBackend } = (await response.json()) as { seenByBackend?: string };

    expect(response.status).toBe(200);
    expect(gatewayIds).toHaveLength(1);
    expect(seenByBackend).toBe(gatewayIds[0]);
    expect(backendIds).toEqual([gatewayIds[0]]);
  });
});
