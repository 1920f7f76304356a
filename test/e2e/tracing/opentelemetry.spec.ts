// OpenTelemetry across real apps: an HTTP gateway calls an arrpc server through ArrpcClient, whose
// handler calls a second arrpc server. The SDK records into an in-memory exporter; the W3C trace
// context and baggage travel in the envelopes' `meta`.
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  ArrpcClient,
  ArrpcModule,
  ArrpcServer,
  ConnectException,
  MessageEncoder,
  decodeMessage,
} from '../../../lib/index.js';
import { pythonStyleCall } from '../../support/python-client.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { unusedPort } from '../../support/sockets.js';
import { endedSpan, parentOf, registerTracing, type RegisteredTracing } from '../../support/tracing.js';
import { clientFactory, errorOf, useCleanup } from '../client/helpers.js';
import { portOf, startServer } from '../server/helpers.js';

let tracing: RegisteredTracing;
beforeAll(() => {
  tracing = registerTracing();
});
afterAll(() => tracing.close());
/** The test's own tracer, standing in for HTTP instrumentation on the gateway. */
const testTracer = () => trace.getTracer('test');

const track = useCleanup();
const newClient = clientFactory(track);
afterEach(() => tracing.exporter.reset());

/** The one ended span named `name` of `kind`. */
const spanOf = (name: string, kind: SpanKind): Promise<ReadableSpan> => endedSpan(tracing.exporter, name, kind);

@Controller()
class StockController {
  @MessagePattern('stock.check')
  check(@Payload() item: string): number {
    return item.length;
  }

  @MessagePattern('stock.fail')
  fail(): never {
    throw new RpcException('out of stock');
  }

  @MessagePattern({ cmd: 'stock.count', v: 1 })
  count(): number {
    return 3;
  }

  @EventPattern('stock.noted')
  noted(@Payload() _count: number): void {}
}

const STOCK = 'STOCK';

@Controller()
class OrdersController {
  constructor(@Inject(STOCK) private readonly stock: ArrpcClient) {}

  /** Calls the stock server, and tells what baggage the handler saw. */
  @MessagePattern('orders.get')
  async get(@Payload() item: string): Promise<{ stock: number; tenant: string | undefined }> {
    const stock = await this.stock.call<number>('stock.check', item);
    return { stock, tenant: propagation.getActiveBaggage()?.getEntry('tenant')?.value };
  }

  @MessagePattern('orders.fail')
  fail(): Promise<unknown> {
    return this.stock.call('stock.fail', null);
  }
}

/** The stock server, the orders server (its handler calls stock), and an HTTP gateway calling orders. */
async function startApps(): Promise<{ gatewayUrl: string; ordersPort: number; stockPort: number }> {
  const stockServer = track(await startServer([StockController]));
  const stockClient = new ArrpcClient({ port: stockServer.port, peer: 'nestjs-arrpc' });
  const ordersServer = new ArrpcServer({ port: 0 });
  const orders = await NestFactory.createMicroservice(
    { module: class OrdersModule {}, controllers: [OrdersController], providers: [{ provide: STOCK, useValue: stockClient }] },
    { strategy: ordersServer, logger: false },
  );
  await orders.listen();
  track(orders);
  track(stockClient);
  const ordersPort = portOf(ordersServer);

  @Controller()
  class GatewayController {
    constructor(@Inject(ArrpcClient) private readonly client: ArrpcClient) {}

    /** As HTTP instrumentation would, the request runs in a SERVER span; baggage rides along. */
    @Get('orders/:item')
    get(@Param('item') item: string): Promise<unknown> {
      const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
      const withBaggage = propagation.setBaggage(context.active(), baggage);
      return context.with(withBaggage, () =>
        testTracer().startActiveSpan('GET /orders/:item', { kind: SpanKind.SERVER }, async (span) => {
          try {
            return await this.client.call(item === 'fail' ? 'orders.fail' : 'orders.get', item).catch((error: Error) => ({ error: error.name }));
          } finally {
            span.end();
          }
        }),
      );
    }
  }
  @Module({ imports: [ArrpcModule.forRoot({ port: ordersPort, peer: 'nestjs-arrpc' })], controllers: [GatewayController] })
  class GatewayModule {}
  const gateway = await NestFactory.create(GatewayModule, { logger: false, forceCloseConnections: true });
  await gateway.listen(0, '127.0.0.1');
  track(gateway);
  const { port } = gateway.getHttpServer().address() as AddressInfo;
  return { gatewayUrl: `http://127.0.0.1:${port}`, ordersPort, stockPort: stockServer.port };
}

describe('OpenTelemetry: one trace from HTTP through arrpc to a downstream server', () => {
  it('links gateway, client, server and downstream spans in one trace, with RPC attributes and baggage', async () => {
    const { gatewayUrl, ordersPort, stockPort } = await startApps();

    const response = await fetch(`${gatewayUrl}/orders/widget`);
    expect(await response.json()).toEqual({ stock: 6, tenant: 'acme' });

    const http = await spanOf('GET /orders/:item', SpanKind.SERVER);
    const ordersClient = await spanOf('orders.get', SpanKind.CLIENT);
    const ordersServer = await spanOf('orders.get', SpanKind.SERVER);
    const stockClient = await spanOf('stock.check', SpanKind.CLIENT);
    const stockServer = await spanOf('stock.check', SpanKind.SERVER);
    const chain = [http, ordersClient, ordersServer, stockClient, stockServer];
    expect(new Set(chain.map((span) => span.spanContext().traceId)).size).toBe(1);
    expect(chain.slice(1).map(parentOf)).toEqual(chain.slice(0, -1).map((span) => span.spanContext().spanId));

    expect(ordersClient.attributes).toMatchObject({
      'rpc.system': 'arrpc',
      'rpc.method': 'orders.get',
      'server.address': '127.0.0.1',
      'server.port': ordersPort,
    });
    expect(ordersServer.attributes).toMatchObject({ 'rpc.system': 'arrpc', 'rpc.method': 'orders.get', 'server.port': ordersPort });
    expect(stockClient.attributes).toMatchObject({ 'rpc.method': 'stock.check', 'server.port': stockPort });
    expect(stockServer.attributes).toMatchObject({ 'rpc.method': 'stock.check', 'network.peer.address': '127.0.0.1' });
    for (const span of chain) expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(tracing.exporter.getFinishedSpans()).toHaveLength(chain.length);
  });

  it('records a handler error on both sides with its class and code', async () => {
    const { gatewayUrl } = await startApps();

    const response = await fetch(`${gatewayUrl}/orders/fail`);
    expect(await response.json()).toEqual({ error: 'RemoteRpcException' });

    const stockServer = await spanOf('stock.fail', SpanKind.SERVER);
    const stockClient = await spanOf('stock.fail', SpanKind.CLIENT);
    const ordersServer = await spanOf('orders.fail', SpanKind.SERVER);
    const ordersClient = await spanOf('orders.fail', SpanKind.CLIENT);
    expect(parentOf(stockServer)).toBe(stockClient.spanContext().spanId);
    expect(parentOf(stockClient)).toBe(ordersServer.spanContext().spanId);
    expect(stockServer.status).toEqual({ code: SpanStatusCode.ERROR, message: 'out of stock' });
    expect(stockServer.attributes).toMatchObject({ 'error.type': 'RpcException', 'rpc.response.status_code': 'ARRPC_ERR_REMOTE' });
    for (const client of [stockClient, ordersClient]) {
      expect(client.status.code).toBe(SpanStatusCode.ERROR);
      expect(client.attributes).toMatchObject({ 'error.type': 'RemoteRpcException', 'rpc.response.status_code': 'ARRPC_ERR_REMOTE' });
      expect(client.events.map((event) => event.name)).toEqual(['exception']);
      expect(client.events[0]!.attributes).toMatchObject({ 'exception.message': 'out of stock' });
      expect(client.events[0]!.attributes!['exception.stacktrace']).toContain('RemoteRpcException');
    }
    expect(stockClient.status.message).toBe('out of stock');
  });

  it('gives an event a client span and a server span under it', async () => {
    const stock = track(await startServer([StockController]));
    const client = newClient({ port: stock.port, peer: 'nestjs-arrpc' });

    await testTracer().startActiveSpan('job', async (job) => {
      await client.call('stock.check', 'x');
      await new Promise((resolve, reject) => client.emit('stock.noted', 1).subscribe({ complete: () => resolve(undefined), error: reject }));
      job.end();
    });

    const job = await spanOf('job', SpanKind.INTERNAL);
    const eventClient = await spanOf('stock.noted', SpanKind.CLIENT);
    const eventServer = await spanOf('stock.noted', SpanKind.SERVER);
    expect(parentOf(eventClient)).toBe(job.spanContext().spanId);
    expect(parentOf(eventServer)).toBe(eventClient.spanContext().spanId);
  });

  it('names the spans of an object pattern by its normalised text on both sides', async () => {
    const stock = track(await startServer([StockController]));
    const client = newClient({ port: stock.port, peer: 'nestjs-arrpc' });

    expect(await client.call({ v: 1, cmd: 'stock.count' }, null)).toBe(3);

    const name = '{"cmd":"stock.count","v":1}';
    const server = await spanOf(name, SpanKind.SERVER);
    expect(parentOf(server)).toBe((await spanOf(name, SpanKind.CLIENT)).spanContext().spanId);
    expect(server.attributes['rpc.method']).toBe(name);
  });

  it('ends a call that never reached a server with ConnectException on its span', async () => {
    const client = newClient({ port: await unusedPort(), conMaxRetries: 1 });

    const error = await errorOf(client.call('stock.check', 'x'));

    expect(error).toBeInstanceOf(ConnectException);
    const span = await spanOf('stock.check', SpanKind.CLIENT);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.status.code).toBe(SpanStatusCode.ERROR);
    expect(span.attributes).toMatchObject({ 'error.type': 'ConnectException', 'rpc.response.status_code': 'ARRPC_ERR_CONNECT' });
  });
});

@Controller()
class EchoController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  echo(@Payload() value: unknown): unknown {
    return value;
  }
}

describe('OpenTelemetry with Python peers', () => {
  it('gives a plain message its client span and writes nothing but the value', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    const value = { id: 7, name: 'widget' };

    const answer = await testTracer().startActiveSpan('job', async (job) => {
      try {
        return await client.call(ARRPC_DEFAULT_PATTERN, value);
      } finally {
        job.end();
      }
    });

    expect(answer).toEqual(value);
    expect(peer.requests).toHaveLength(1);
    expect(decodeMessage(peer.requests[0]!)).toEqual(value);
    const job = await spanOf('job', SpanKind.INTERNAL);
    const span = await spanOf(ARRPC_DEFAULT_PATTERN, SpanKind.CLIENT);
    expect(parentOf(span)).toBe(job.spanContext().spanId);
    expect(span.attributes).toMatchObject({ 'rpc.system': 'arrpc', 'rpc.method': ARRPC_DEFAULT_PATTERN, 'server.port': peer.port });
  });

  it('serves a plain message from a Python client in a span of its own trace', async () => {
    const server = track(await startServer([EchoController]));
    const value = { id: 7 };

    const answer = await pythonStyleCall(server.port, new MessageEncoder().encode(value));

    expect(decodeMessage(answer as Buffer)).toEqual(value);
    const span = await spanOf(ARRPC_DEFAULT_PATTERN, SpanKind.SERVER);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.attributes).toMatchObject({ 'rpc.system': 'arrpc', 'rpc.method': ARRPC_DEFAULT_PATTERN, 'server.port': server.port });
  });
});
