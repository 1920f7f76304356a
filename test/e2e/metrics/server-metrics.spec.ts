// ArrpcServer's metrics, end to end: a real Nest microservice on 127.0.0.1 port 0 with
// `metrics: true`, raw-socket peers, and the standalone `/metrics` listener scraped over HTTP.
// Every test records into its own prom-client Registry.
import {
  Controller,
  Injectable,
  Module,
  Scope,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type LoggerService,
  type NestInterceptor,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload, RpcException, Transport } from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Registry, register } from 'prom-client';
import type { Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  ARRPC_METRICS_OTHER_REASON,
  ARRPC_TIMEOUT_META_KEY,
  ArrpcMetricsModule,
  ArrpcServer,
  MessageEncoder,
  buildEnvelope,
  signMessage,
  type ArrpcServerOptions,
} from '../../../lib/index.js';
import { getTestCerts } from '../../support/certs.js';
import { familyShape, parseExposition, referenceFamilies, sampleValue, type Family } from '../../support/exposition.js';
import { itWithWire } from '../../support/vectors.js';
import { CapturingLogger, TestPeer, portOf, sleep, startServer, type TestServer } from '../server/helpers.js';

const SECRET = 'metrics-secret';
const ERROR_PREFIX = /^arrpc\.error\.\w+: /;

@Controller()
class MetricsController {
  // Named as the reference's handler function, so its lines read like metrics-server.txt's.
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  handler(@Payload() message: { fail?: boolean }): unknown {
    if (message.fail) throw new RpcException('boom');
    return message;
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('fail')
  fail(@Payload() error: string | object): never {
    throw new RpcException(error);
  }

  @MessagePattern('crash')
  crash(): never {
    throw new Error('details the peer must not see');
  }

  @MessagePattern('slow')
  async slow(@Payload() ms: number): Promise<string> {
    await sleep(ms);
    return 'done';
  }

  @EventPattern<string>('created')
  created(): void {}
}

const encoder = new MessageEncoder();
/** A plain message's size on the wire, signed when `secret` is given. */
const plainSize = (value: unknown, secret?: string): number =>
  secret === undefined ? encoder.encode(value).length : signMessage(encoder, encoder.encode(value), secret).length;
/** A Nest request's (or event's) size on the wire. */
const envelopeSize = (kind: 'request' | 'event', pattern: string, data: unknown, meta?: Record<string, string>): number =>
  encoder.encode(buildEnvelope(kind, pattern, data, meta)).length;

const servers: TestServer[] = [];
const peers: TestPeer[] = [];

afterEach(async () => {
  for (const peer of peers.splice(0)) peer.destroy();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/**
 * `controllers` as a pure microservice with `ArrpcMetricsModule` (which names the handlers) and
 * `metrics: true`, recording into the test's own registry.
 */
async function start(
  options: ArrpcServerOptions = {},
  controllers: Type[] = [MetricsController],
  { providers = [], logger = false }: { providers?: Type[]; logger?: LoggerService | false } = {},
): Promise<TestServer> {
  const registry = options.registry ?? new Registry();
  const arrpc = new ArrpcServer({ port: 0, metrics: true, metricsPort: 0, ...options, registry });
  const imports = [ArrpcMetricsModule.forRoot({ registry, defaultMetrics: false })];
  const module = { module: class MetricsTestModule {}, imports, controllers, providers };
  const app = await NestFactory.createMicroservice(module, { strategy: arrpc, logger });
  await app.listen();
  const server: TestServer = { app, server: arrpc, port: portOf(arrpc), close: () => app.close() };
  servers.push(server);
  return server;
}

async function connect(server: TestServer, tls?: object): Promise<TestPeer> {
  const peer = await TestPeer.connect(server.port, tls);
  peers.push(peer);
  return peer;
}

/** Scrapes the server's standalone listener over HTTP. */
async function scrape(server: TestServer): Promise<Map<string, Family>> {
  const port = server.server.getMetricsPort();
  expect(port).toBeGreaterThan(0);
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

/** Sum of a sample over every series whose labels include `labels`. */
function total(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  return [...families.values()]
    .flatMap((family) => family.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** The `reason` an error answer is counted under: its message. */
const reasonOf = (answer: unknown): string => String(answer).replace(ERROR_PREFIX, '');

describe('ArrpcServer metrics on the standalone /metrics listener', () => {
  itWithWire('writes the reference’s names, types and label sets, with its label values', async () => {
    const server = await start({ authSecret: SECRET });
    const peer = await connect(server);
    const messages = [{ n: 1 }, { n: 22, text: 'twenty-two' }, { fail: true }];
    const answers = [];
    for (const message of messages) answers.push(await peer.call(message, SECRET));
    expect(answers[2]).toBe('arrpc.error.RpcException: boom');

    const families = await scrape(server);
    for (const [name, family] of referenceFamilies('server')) {
      expect(familyShape(families.get(name)!)).toEqual(familyShape(family));
    }
    const labels = { handler_func: 'handler', remote_address: '127.0.0.1', signed_payload: 'True', tls: 'False' };
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', labels)).toBe(3);
    expect(sampleValue(families, 'arrpc_server_req_bytes_count', labels)).toBe(3);
    const sent = messages.reduce((sum, m) => sum + plainSize(m, SECRET), 0);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', labels)).toBe(sent);
    expect(sampleValue(families, 'arrpc_server_errors_total', { ...labels, reason: 'boom' })).toBe(1);
    const sample = families.get('arrpc_server_req_seconds')!.samples[0]!;
    expect(sample.labels['hostname']).not.toBe('');
  });

  it('counts requests and events by method name, with the bytes sent, and leaves arrpc.ping out', async () => {
    const server = await start();
    const peer = await connect(server);
    const echoes = ['a', { longer: 'x'.repeat(300) }];
    for (const data of echoes) expect(await peer.request('echo', data)).toEqual(data);
    await peer.sendEvent('created', { id: 7 });
    expect(await peer.next()).toBeNull();
    expect(await peer.call({ plain: true })).toEqual({ plain: true });
    for (let i = 0; i < 3; i++) expect(await peer.request('arrpc.ping', null)).toBe('SERVING');
    expect(await peer.request('slow', 60)).toBe('done');

    const families = await scrape(server);
    const plain = { signed_payload: 'False', tls: 'False', remote_address: '127.0.0.1' };
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { ...plain, handler_func: 'echo' })).toBe(2);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', { ...plain, handler_func: 'echo' })).toBe(
      envelopeSize('request', 'echo', echoes[0]) + envelopeSize('request', 'echo', echoes[1]),
    );
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', { handler_func: 'created' })).toBe(
      envelopeSize('event', 'created', { id: 7 }),
    );
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', { handler_func: 'handler' })).toBe(plainSize({ plain: true }));
    // Seconds run from the message being read to its answer being written.
    expect(sampleValue(families, 'arrpc_server_req_seconds_sum', { handler_func: 'slow' })).toBeGreaterThanOrEqual(0.05);
    // 2 echo + 1 event + 1 plain + 1 slow; the pings are nowhere.
    expect(total(families, 'arrpc_server_req_seconds_count')).toBe(5);
    expect(total(families, 'arrpc_server_errors_total')).toBe(0);
  });

  it('counts each failure with its reason, under the method that ran or none', async () => {
    const server = await start({ maxConcurrentPerConnection: 1 });
    const peer = await connect(server);
    const failures: [answer: unknown, handlerFunc: string][] = [
      [await peer.request('fail', 'no such user'), 'fail'],
      [await peer.request('fail', { code: 42 }), 'fail'],
      [await peer.request('crash', null), 'crash'],
      [await peer.request('nobody.listens', null), ''],
      [await peer.call({ 'arrpc.pattern': 5, data: null }), ''],
    ];
    // A deadline that passes while the request waits behind a slow one: refused, no handler runs.
    // One write, so both are read before the slow one pauses reading.
    await peer.writeRaw(
      Buffer.concat([
        encoder.encode(buildEnvelope('request', 'slow', 80)),
        encoder.encode(buildEnvelope('request', 'echo', 'late', { [ARRPC_TIMEOUT_META_KEY]: '10' })),
      ]),
    );
    expect(await peer.next()).toBe('done');
    failures.push([await peer.next(), '']);

    const reasons = failures.map(([answer]) => reasonOf(answer));
    expect(reasons).toEqual([
      'no such user',
      '{"code":42}',
      'Internal server error',
      'There is no matching message handler defined in the remote service.',
      expect.stringMatching(/^invalid message: /),
      'deadline exceeded before the handler started',
    ]);
    const families = await scrape(server);
    failures.forEach(([, handlerFunc], i) => {
      expect(sampleValue(families, 'arrpc_server_errors_total', { handler_func: handlerFunc, reason: reasons[i]! })).toBe(1);
    });
    expect(total(families, 'arrpc_server_errors_total')).toBe(failures.length);
    // Failed requests are requests too: 6 failures, and the slow one.
    expect(total(families, 'arrpc_server_req_seconds_count')).toBe(failures.length + 1);
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { handler_func: '' })).toBe(3);
  });

  it('counts an authentication failure as unsigned, with the AuthException’s message', async () => {
    const server = await start({ authSecret: SECRET });
    const peer = await connect(server);
    const refused = await peer.call({ n: 1 });
    expect(refused).toMatch(/^arrpc\.error\.AuthException: /);
    expect(await peer.call({ n: 2 }, 'wrong-secret')).toBe(refused);
    expect(await peer.call({ n: 3 }, SECRET)).toEqual({ n: 3 });

    const families = await scrape(server);
    const unsigned = { handler_func: '', signed_payload: 'False' };
    expect(sampleValue(families, 'arrpc_server_errors_total', { ...unsigned, reason: reasonOf(refused) })).toBe(2);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum', unsigned)).toBe(plainSize({ n: 1 }) + plainSize({ n: 2 }, 'wrong-secret'));
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { handler_func: 'handler', signed_payload: 'True' })).toBe(1);
  });

  it('writes tls="True" for requests over TLS', async () => {
    const certs = getTestCerts();
    const server = await start({ tls: { cert: certs.server.cert, key: certs.server.key } });
    const peer = await connect(server, { ca: certs.ca.cert, servername: 'localhost' });
    expect(await peer.request('echo', 1)).toBe(1);
    const families = await scrape(server);
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { handler_func: 'echo', tls: 'True' })).toBe(1);
    expect(total(families, 'arrpc_server_req_seconds_count', { tls: 'False' })).toBe(0);
  });

  it('counts the Unavailable answers of a drain, and closes the listener after it', async () => {
    const server = await start();
    const peer = await connect(server);
    expect(await peer.request('echo', 1)).toBe(1);
    const closing = server.server.close();
    expect(reasonOf(await peer.request('echo', 2))).toBe('server is draining');

    const families = await scrape(server);
    expect(sampleValue(families, 'arrpc_server_errors_total', { handler_func: '', reason: 'server is draining' })).toBe(1);
    const port = server.server.getMetricsPort();
    peer.destroy();
    await closing;
    expect(server.server.getMetricsPort()).toBeUndefined();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });

  it('records the opt-in histogram and bounds the reasons as configured', async () => {
    const registry = new Registry();
    const server = await start({ registry, metricsHistogram: { buckets: [0.5, 5] }, metricsMaxErrorReasons: 1 });
    const peer = await connect(server);
    await peer.request('echo', 1);
    await peer.request('fail', 'first reason');
    await peer.request('fail', 'second reason');
    const families = await scrape(server);
    const histogram = { handler_func: 'echo', pattern: 'echo' };
    expect(sampleValue(families, 'arrpc_server_req_duration_seconds_count', histogram)).toBe(1);
    expect(sampleValue(families, 'arrpc_server_req_duration_seconds_bucket', { ...histogram, le: '5' })).toBe(1);
    expect(sampleValue(families, 'arrpc_server_errors_total', { reason: 'first reason' })).toBe(1);
    expect(sampleValue(families, 'arrpc_server_errors_total', { reason: ARRPC_METRICS_OTHER_REASON })).toBe(1);
  });
});

describe('ArrpcServer handler_func', () => {
  class Allow implements CanActivate {
    canActivate(): boolean {
      return true;
    }
  }
  class PassThrough implements NestInterceptor {
    intercept(_context: unknown, next: CallHandler): Observable<unknown> {
      return next.handle();
    }
  }

  @Controller()
  class WrappedController {
    @UseGuards(Allow)
    @UseInterceptors(PassThrough)
    @MessagePattern({ cmd: 'guarded' })
    guarded(): string {
      return 'ok';
    }

    @EventPattern<string>('twice')
    firstListener(): void {}

    @EventPattern<string>('twice')
    secondListener(): void {}

    // Registered on a TCP server only: the arrpc server's 'shared' is the method below.
    @MessagePattern('shared', Transport.TCP)
    forAnotherTransport(): string {
      return 'tcp';
    }

    @MessagePattern('shared')
    forThisTransport(): string {
      return 'arrpc';
    }
  }

  @Injectable({ scope: Scope.REQUEST })
  class PerRequest {
    readonly value = 'scoped';
  }

  @Controller()
  class ScopedController {
    constructor(private readonly perRequest: PerRequest) {}

    @MessagePattern('scoped')
    perRequestMethod(): string {
      return this.perRequest.value;
    }
  }

  it('is the method name behind guards, interceptors, chained events and request scope', async () => {
    const registry = new Registry();
    // No metricsPort: no listener, the registry is read directly.
    const server = await start({ registry, metricsPort: undefined }, [WrappedController, ScopedController], { providers: [PerRequest] });
    const peer = await connect(server);
    expect(await peer.request({ cmd: 'guarded' }, null)).toBe('ok');
    await peer.sendEvent('twice', null);
    expect(await peer.next()).toBeNull();
    expect(await peer.request('scoped', null)).toBe('scoped');
    expect(await peer.request('shared', null)).toBe('arrpc');

    expect(server.server.getMetricsPort()).toBeUndefined();
    const families = parseExposition(await registry.metrics());
    const names = families.get('arrpc_server_req_seconds')!.samples.map((s) => s.labels['handler_func']).sort();
    expect([...new Set(names)]).toEqual(['firstListener', 'forThisTransport', 'guarded', 'perRequestMethod']);
  });

  it('is the pattern for a handler added by hand, and a warning says so', async () => {
    const registry = new Registry();
    const logger = new CapturingLogger();
    const server = await start({ registry }, [], { logger });
    server.server.addHandler('by.hand', async (data: unknown) => data);
    const peer = await connect(server);
    expect(await peer.request('by.hand', 3)).toBe(3);

    const families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { handler_func: 'by.hand' })).toBe(1);
    expect(logger.lines).toContainEqual(expect.stringMatching(/^warn metrics: handler_func is the pattern "by\.hand"/));
  });

  it('is the pattern without ArrpcMetricsModule, and a warning names the module', async () => {
    const registry = new Registry();
    const logger = new CapturingLogger();
    const server = await startServer([WrappedController], { metrics: true, registry }, logger);
    servers.push(server);
    const peer = await connect(server);
    expect(await peer.request({ cmd: 'guarded' }, null)).toBe('ok');
    expect(await peer.request({ cmd: 'guarded' }, null)).toBe('ok');

    const families = parseExposition(await registry.metrics());
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { handler_func: '{"cmd":"guarded"}' })).toBe(2);
    const warnings = logger.lines.filter((line) => line.startsWith('warn metrics: handler_func'));
    expect(warnings).toEqual([expect.stringContaining('no method names learnt (import ArrpcMetricsModule.forRoot() in the app')]);
  });
});

describe('ArrpcServer with metrics off', () => {
  it('registers nothing and opens no listener, even given a metricsPort', async () => {
    const registry = new Registry();
    const server = await startServer([MetricsController], { registry, metricsPort: 0 });
    servers.push(server);
    const peer = await connect(server);
    expect(await peer.request('echo', 1)).toBe(1);
    expect(await peer.request('fail', 'x')).toBe('arrpc.error.RpcException: x');
    expect(server.server.getMetricsPort()).toBeUndefined();
    expect(registry.getMetricsAsArray()).toEqual([]);
  });
});

describe('ArrpcServer metrics in a hybrid app', () => {
  // The only tests on prom-client's global registry (the default of both sides): cleared around.
  beforeEach(() => register.clear());
  afterEach(() => register.clear());

  itWithWire('show on the /metrics endpoint of ArrpcMetricsModule, in the reference’s shape', async () => {
    @Module({ imports: [ArrpcMetricsModule.forRoot()], controllers: [MetricsController] })
    class HybridModule {}
    const app = await NestFactory.create(HybridModule, new ExpressAdapter(), { logger: false });
    const arrpc = new ArrpcServer({ port: 0, metrics: true, authSecret: SECRET });
    app.connectMicroservice({ strategy: arrpc });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    const peer = await TestPeer.connect(portOf(arrpc));
    try {
      const messages = [{ n: 1 }, { n: 2 }, { fail: true }];
      for (const message of messages) await peer.call(message, SECRET);

      const response = await fetch(`${await app.getUrl()}/metrics`);
      expect(response.status).toBe(200);
      const families = parseExposition(await response.text());
      for (const [name, family] of referenceFamilies('server')) {
        expect(familyShape(families.get(name)!)).toEqual(familyShape(family));
      }
      const labels = { handler_func: 'handler', signed_payload: 'True', tls: 'False', remote_address: '127.0.0.1' };
      expect(sampleValue(families, 'arrpc_server_req_seconds_count', labels)).toBe(3);
      expect(sampleValue(families, 'arrpc_server_req_bytes_sum', labels)).toBe(
        messages.reduce((sum, m) => sum + plainSize(m, SECRET), 0),
      );
      expect(sampleValue(families, 'arrpc_server_errors_total', { ...labels, reason: 'boom' })).toBe(1);
      // Beside prom-client's default metrics, which the module collects; no listener of its own.
      expect(families.has('process_cpu_user_seconds_total')).toBe(true);
      expect(arrpc.getMetricsPort()).toBeUndefined();
    } finally {
      peer.destroy();
      await app.close();
    }
  });
});
