// Routing (PROTOCOL.md part 2): plain messages, Nest request and event envelopes, arrpc.ping,
// handler results and errors, and the ArrpcContext a handler sees.
import { Controller, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { EMPTY, of } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, ArrpcContext, ArrpcServer } from '../../../lib/index.js';
import { CapturingLogger, TestPeer, portOf, sleep, startServer, type TestServer } from './helpers.js';

const NO_HANDLER = 'arrpc.error.RpcException: There is no matching message handler defined in the remote service.';
const INTERNAL = 'arrpc.error.RpcException: Internal server error';

/** Events seen by {@link RoutingController.created}, with when they finished. */
const events: { data: unknown; pattern: string; finishedAt?: number }[] = [];

@Controller()
class RoutingController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Payload() data: unknown, @Ctx() ctx: ArrpcContext): unknown {
    return { data, pattern: ctx.getPattern(), meta: ctx.getMetadata() ?? null };
  }

  @MessagePattern('users.get')
  getUser(@Payload() id: number): unknown {
    return { id, name: `user ${id}` };
  }

  @MessagePattern({ cmd: 'sum', v: 1 })
  sum(@Payload() values: number[]): number {
    return values.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('context')
  context(@Ctx() ctx: ArrpcContext): unknown {
    return {
      pattern: ctx.getPattern(),
      meta: ctx.getMetadata() ?? null,
      remoteAddress: ctx.getRemoteAddress(),
      remotePort: ctx.getRemotePort(),
      tls: ctx.isTls(),
      signed: ctx.isSigned(),
      deadline: ctx.getDeadline() ?? null,
      aborted: ctx.getAbortSignal().aborted,
    };
  }

  @MessagePattern('result.promise')
  async promise(@Payload() value: unknown): Promise<unknown> {
    await sleep(5);
    return value;
  }

  @MessagePattern('result.observable')
  observable(): unknown {
    return of(1, 2, 3);
  }

  @MessagePattern('result.empty')
  empty(): unknown {
    return EMPTY;
  }

  @MessagePattern('result.undefined')
  nothing(): undefined {
    return undefined;
  }

  @MessagePattern('result.unencodable')
  unencodable(): unknown {
    return { f: () => 1 };
  }

  @MessagePattern('fail.rpc')
  failRpc(@Payload() error: string | object): never {
    throw new RpcException(error);
  }

  @MessagePattern('fail.crash')
  crash(): never {
    throw new Error('secret detail that must not leak');
  }

  @EventPattern<string>('user.created')
  async created(@Payload() data: unknown, @Ctx() ctx: ArrpcContext): Promise<void> {
    const entry: (typeof events)[number] = { data, pattern: ctx.getPattern() };
    events.push(entry);
    await sleep(100);
    entry.finishedAt = Date.now();
  }
}

describe('ArrpcServer routing', () => {
  let server: TestServer;
  let peer: TestPeer;

  beforeAll(async () => {
    server = await startServer([RoutingController]);
  });
  afterAll(() => server.close());
  afterEach(() => peer?.destroy());

  it('sends a plain message to the default pattern', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call({ foo: 'bar' })).toEqual({ data: { foo: 'bar' }, pattern: ARRPC_DEFAULT_PATTERN, meta: null });
  });

  it.each([{}, [], '', 0, false, null])('answers the falsy message %j (the reference never does)', async (value) => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call(value)).toEqual({ data: value, pattern: ARRPC_DEFAULT_PATTERN, meta: null });
  });

  it('routes a request envelope by its string pattern', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request('users.get', 7)).toEqual({ id: 7, name: 'user 7' });
  });

  it('routes an object pattern whatever its key order', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request({ v: 1, cmd: 'sum' }, [1, 2, 3])).toBe(6);
    expect(await peer.request({ cmd: 'sum', v: 1 }, [4])).toBe(4);
  });

  it('answers the no-handler error for an unknown pattern', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request('nobody.home', 1)).toBe(NO_HANDLER);
    expect(await peer.request({ cmd: 'nobody' }, 1)).toBe(NO_HANDLER);
  });

  it('acknowledges an event with nil when dispatched, before its handler ends, and runs the handler', async () => {
    peer = await TestPeer.connect(server.port);
    events.length = 0;
    const sentAt = Date.now();
    await peer.sendEvent('user.created', { id: 1 });
    expect(await peer.next()).toBeNull();
    const ackedAt = Date.now();
    expect(ackedAt - sentAt).toBeLessThan(90);
    await expect.poll(() => events[0]?.finishedAt, { timeout: 2000 }).toBeGreaterThanOrEqual(ackedAt);
    expect(events[0]).toMatchObject({ data: { id: 1 }, pattern: 'user.created' });
  });

  it('acknowledges an event with no handler with nil', async () => {
    peer = await TestPeer.connect(server.port);
    await peer.sendEvent('nobody.listens', 1);
    expect(await peer.next()).toBeNull();
    expect(await peer.request('users.get', 2)).toMatchObject({ id: 2 });
  });

  it('warns once per pattern, in Nest\'s words, about events nobody handles', async () => {
    const logger = new CapturingLogger();
    const logged = await startServer([RoutingController], {}, logger);
    const other = await TestPeer.connect(logged.port);
    try {
      for (const pattern of ['nobody.listens', 'nobody.listens', 'nor.here', 'nobody.listens']) {
        await other.sendEvent(pattern, 1);
        expect(await other.next()).toBeNull();
      }
    } finally {
      other.destroy();
      await logged.close();
    }
    const warnings = logger.lines.filter((line) => line.startsWith('warn'));
    expect(warnings).toEqual([
      'warn There is no matching event handler defined in the remote service. Event pattern: nobody.listens',
      'warn There is no matching event handler defined in the remote service. Event pattern: nor.here',
    ]);
  });

  it('stops warning about unhandled event patterns after the first hundred, with one line saying so', async () => {
    const logger = new CapturingLogger();
    const logged = await startServer([RoutingController], {}, logger);
    const other = await TestPeer.connect(logged.port);
    try {
      for (let i = 0; i < 150; i++) await other.sendEvent(`made.up.${i}`, 1);
      for (let i = 0; i < 150; i++) expect(await other.next()).toBeNull();
    } finally {
      other.destroy();
      await logged.close();
    }
    const warnings = logger.lines.filter((line) => line.startsWith('warn'));
    expect(warnings).toHaveLength(101);
    expect(warnings[99]).toMatch(/Event pattern: made\.up\.99$/);
    expect(warnings[100]).toMatch(/more than 100 patterns had no handler; further ones are not logged/);
  });

  it('answers arrpc.ping itself with SERVING', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request('arrpc.ping', null)).toBe('SERVING');
  });

  it('gives the handler an ArrpcContext: pattern, meta, peer, TLS, signed, deadline, signal', async () => {
    peer = await TestPeer.connect(server.port);
    const meta = { 'trace-id': 'abc', 'arrpc-timeout-ms': '5000' };
    const before = Date.now();
    const answer = (await peer.request('context', null, meta)) as Record<string, unknown>;
    expect(answer).toMatchObject({
      pattern: 'context',
      meta,
      remoteAddress: '127.0.0.1',
      remotePort: peer.socket.localPort,
      tls: false,
      signed: false,
      aborted: false,
    });
    expect(answer['deadline']).toBeGreaterThanOrEqual(before + 5000);
    expect(answer['deadline']).toBeLessThanOrEqual(Date.now() + 5000);
  });

  it('ignores a meta that is not a map of str to str, and a bad arrpc-timeout-ms, and serves the request', async () => {
    peer = await TestPeer.connect(server.port);
    await peer.send({ 'arrpc.pattern': 'context', data: null, meta: { n: 1 } });
    expect(await peer.next()).toMatchObject({ meta: null, deadline: null });
    expect(await peer.request('context', null, { 'arrpc-timeout-ms': '1.5' })).toMatchObject({ deadline: null });
  });

  it('refuses a request whose deadline passed before its handler started', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request('users.get', 1, { 'arrpc-timeout-ms': '0' })).toBe(
      'arrpc.error.RpcTimeoutException: deadline exceeded before the handler started',
    );
  });

  it.each([
    ['a Promise', 'result.promise', 'late', 'late'],
    ['an Observable: its last value', 'result.observable', null, 3],
    ['an empty Observable: nil', 'result.empty', null, null],
    ['undefined: nil', 'result.undefined', null, null],
  ])('answers %s', async (_name, pattern, data, expected) => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request(pattern, data)).toEqual(expected);
  });

  it.each([
    ['a string RpcException', 'nope', 'arrpc.error.RpcException: nope'],
    ['an object RpcException as JSON', { code: 42, reason: 'x' }, 'arrpc.error.RpcException: {"code":42,"reason":"x"}'],
  ])('answers %s', async (_name, error, expected) => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request('fail.rpc', error)).toBe(expected);
  });

  it('answers Internal server error for any other error, leaks nothing and keeps the connection', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request('fail.crash', null)).toBe(INTERNAL);
    expect(await peer.request('result.unencodable', null)).toBe(INTERNAL);
    expect(await peer.request('users.get', 3)).toMatchObject({ id: 3 });
  });

  it.each([
    ['a map with an int key', '81 01 a1 78', 'invalid message: map keys must be str or bin'],
    ['an envelope whose pattern is neither str nor map', '82 ad 61 72 72 70 63 2e 70 61 74 74 65 72 6e 01 a4 64 61 74 61 c0', 'invalid message: the pattern must be a str or a map'],
  ])('answers invalid message for %s and keeps the connection', async (_name, hex, reason) => {
    peer = await TestPeer.connect(server.port);
    await peer.writeRaw(hex);
    expect(await peer.next()).toContain(`arrpc.error.RpcException: ${reason}`);
    expect(await peer.request('users.get', 4)).toMatchObject({ id: 4 });
  });

  it('answers the complete messages before a protocol breach, then closes only that connection', async () => {
    peer = await TestPeer.connect(server.port);
    const other = await TestPeer.connect(server.port);
    try {
      // Two whole requests, then the reserved byte 0xc1, all in one write.
      const first = Buffer.from('91 01'.replace(/ /g, ''), 'hex');
      await peer.writeRaw(Buffer.concat([first, first, Buffer.from([0xc1])]));
      expect(await peer.next()).toMatchObject({ data: [1] });
      expect(await peer.next()).toMatchObject({ data: [1] });
      expect(await peer.raw.waitClosed()).toBe(true);
      expect(await other.request('users.get', 5)).toMatchObject({ id: 5 });
    } finally {
      other.destroy();
    }
  });
});

describe('ArrpcServer reserved patterns', () => {
  @Controller()
  class ReservedController {
    @MessagePattern('arrpc.health')
    health(): string {
      return 'mine';
    }
  }

  it('makes listen() fail for a handler registered under arrpc.*', async () => {
    const app = await NestFactory.createMicroservice(
      { module: class ReservedModule {}, controllers: [ReservedController] },
      { strategy: new ArrpcServer({ port: 0 }), logger: false },
    );
    try {
      await expect(app.listen()).rejects.toThrow(/"arrpc\.health" is reserved/);
    } finally {
      await app.close();
    }
  });
});

describe('ArrpcServer with resolvePattern', () => {
  @Controller()
  class CommandController {
    @MessagePattern(ARRPC_DEFAULT_PATTERN)
    fallback(@Payload() data: unknown): unknown {
      return { fallback: data };
    }

    @MessagePattern('add')
    add(@Payload() [a, b]: [number, number], @Ctx() ctx: ArrpcContext): unknown {
      return { sum: a + b, pattern: ctx.getPattern() };
    }
  }

  let server: TestServer;
  let peer: TestPeer;
  beforeAll(async () => {
    server = await startServer([CommandController], {
      resolvePattern: (message) => {
        if (message === 'explode') throw new Error('resolver failed');
        const record = message as { cmd?: string; args?: unknown } | null;
        return typeof record?.cmd === 'string' ? { pattern: record.cmd, data: record.args } : undefined;
      },
    });
  });
  afterAll(() => server.close());
  afterEach(() => peer?.destroy());

  it('routes a plain message by the pattern the resolver picks', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call({ cmd: 'add', args: [2, 3] })).toEqual({ sum: 5, pattern: 'add' });
    expect(await peer.call({ cmd: 'missing', args: 1 })).toBe(NO_HANDLER);
  });

  it('sends the message to the default pattern when the resolver returns undefined', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call([1, 2])).toEqual({ fallback: [1, 2] });
  });

  it('answers Internal server error when the resolver throws, and keeps the connection', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call('explode')).toBe(INTERNAL);
    expect(await peer.call({ cmd: 'add', args: [1, 1] })).toMatchObject({ sum: 2 });
  });
});

describe('ArrpcServer with handlers added by hand (addHandler)', () => {
  let app: INestMicroservice;
  let port: number;
  let peer: TestPeer;
  beforeAll(async () => {
    const server = new ArrpcServer({ port: 0 });
    server.addHandler('sync', (data: unknown) => ({ sync: data }) as never);
    // Not a Promise, only `then`: answered as `await` would take it, nested thenables included.
    const thenable = (value: unknown) => ({ then: (resolve: (value: unknown) => void) => resolve(value) });
    server.addHandler('thenable', (data: unknown) => thenable(thenable({ thenable: data })) as never);
    server.addHandler('throws', () => {
      throw new RpcException('thrown before any promise');
    });
    app = await NestFactory.createMicroservice({ module: class HandlerModule {} }, { strategy: server, logger: false });
    await app.listen();
    port = portOf(server);
  });
  afterAll(() => app.close());
  afterEach(() => peer?.destroy());

  it.each([
    ['a plain value', 'sync', { sync: 1 }],
    ['a thenable that resolves to a thenable', 'thenable', { thenable: 1 }],
    ['a synchronous throw', 'throws', 'arrpc.error.RpcException: thrown before any promise'],
  ])('answers %s', async (_name, pattern, expected) => {
    peer = await TestPeer.connect(port);
    expect(await peer.request(pattern, 1)).toEqual(expected);
  });
});
