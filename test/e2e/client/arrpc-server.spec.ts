// ArrpcClient against this project's ArrpcServer in a real Nest microservice: patterns, events,
// the raw default pattern, signing, errors, metadata and deadlines, draining, pool and pipeline, TLS.
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { lastValueFrom, timeout as rxTimeout, TimeoutError, toArray } from 'rxjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  ARRPC_PING_PATTERN,
  ArrpcContext,
  AuthException,
  CancelledException,
  ConnectException,
  ConnectionLostException,
  InvalidResponseException,
  RemoteRpcException,
  RpcTimeoutException,
  UnavailableException,
  type ArrpcClientOptions,
  type ConnectionPool,
} from '../../../lib/index.js';
import { getTestCerts, writeCertFiles, type CertFiles } from '../../support/certs.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { clientFactory, errorOf, sleep, useCleanup } from './helpers.js';

const SECRET = 'nest-to-nest-secret';
const NO_HANDLER = 'There is no matching message handler defined in the remote service.';

const events: unknown[] = [];
const running = { now: 0, max: 0 };

@Controller()
class TestController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Payload() data: unknown, @Ctx() ctx: ArrpcContext): unknown {
    return { raw: data, pattern: ctx.getPattern(), meta: ctx.getMetadata() ?? null };
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern({ cmd: 'sum' })
  sum(@Payload() values: number[]): number {
    return values.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('context')
  context(@Ctx() ctx: ArrpcContext): unknown {
    return { meta: ctx.getMetadata() ?? null, deadline: ctx.getDeadline() ?? null, signed: ctx.isSigned(), tls: ctx.isTls() };
  }

  @MessagePattern('slow')
  async slow(@Payload() ms: number): Promise<number> {
    running.max = Math.max(running.max, ++running.now);
    await sleep(ms);
    running.now--;
    return ms;
  }

  @MessagePattern('fail')
  fail(@Payload() error: string | object): never {
    throw new RpcException(error);
  }

  @MessagePattern('crash')
  crash(): never {
    throw new Error('detail that stays on the server');
  }

  @EventPattern<string>('happened')
  happened(@Payload() data: unknown, @Ctx() ctx: ArrpcContext): void {
    events.push({ data, meta: ctx.getMetadata() ?? null });
  }
}

const track = useCleanup();
const newClient = clientFactory(track);
let plain: TestServer;
let signed: TestServer;

beforeAll(async () => {
  [plain, signed] = await Promise.all([startServer([TestController]), startServer([TestController], { authSecret: SECRET })]);
});
afterAll(() => Promise.all([plain.close(), signed.close()]));

/** Waits for the handlers of calls earlier tests gave up on, which may still run on the server. */
const handlersDone = () => expect.poll(() => running.now).toBe(0);

/** A client of the plain server. */
const toPlain = (options: Omit<ArrpcClientOptions, 'port'> = {}) => newClient({ port: plain.port, ...options });

describe('requests and events', () => {
  it('sends to a string pattern and gets one answer, then completes', async () => {
    expect(await lastValueFrom(toPlain().send('echo', { a: [1, 'b'] }).pipe(toArray()))).toEqual([{ a: [1, 'b'] }]);
  });

  it('sends to an object pattern', async () => {
    expect(await lastValueFrom(toPlain().send({ cmd: 'sum' }, [1, 2, 3]))).toBe(6);
  });

  it.each([null, undefined])('sends %s data as nil', async (data) => {
    const client = toPlain();
    expect(await lastValueFrom(client.send('echo', data))).toBeNull();
    expect(await client.call('echo', data)).toBeNull();
  });

  it('emits an event: completes with the nil acknowledgement, and the handler runs', async () => {
    events.length = 0;
    expect(await lastValueFrom(toPlain().emit('happened', { id: 1 }).pipe(toArray()))).toEqual([null]);
    await expect.poll(() => events).toEqual([{ data: { id: 1 }, meta: null }]);
  });

  it('emits an event nobody handles: acknowledged all the same', async () => {
    expect(await lastValueFrom(toPlain().emit('nobody.listens', 1))).toBeNull();
  });

  it('writes the default pattern raw: the default handler gets the data, with no meta even from a hook', async () => {
    const client = toPlain({ timeout: 2000 });
    client.setOnDispatchHook((packet) => {
      packet.metadata = { trace: 't-1' };
    });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { foo: 'bar' })).toEqual({ raw: { foo: 'bar' }, pattern: ARRPC_DEFAULT_PATTERN, meta: null });
  });

  it('answers arrpc.ping with SERVING', async () => {
    expect(await toPlain().call(ARRPC_PING_PATTERN, null)).toBe('SERVING');
  });
});

describe('errors', () => {
  it('turns an unknown pattern into RemoteRpcException with Nest\'s message', async () => {
    const error = await errorOf(toPlain().call('nobody.home', 1));
    expect(error).toBeInstanceOf(RemoteRpcException);
    expect(error.message).toBe(NO_HANDLER);
    expect(error).toMatchObject({ pattern: 'nobody.home', endpoint: `127.0.0.1:${plain.port}` });
  });

  it('carries an RpcException message, or its object', async () => {
    const client = toPlain();
    expect((await errorOf(client.call('fail', 'not allowed'))).getError()).toBe('not allowed');
    const error = await errorOf(lastValueFrom(client.send('fail', { status: 'error', message: 'bad input', field: 'id' })));
    expect(error).toBeInstanceOf(RemoteRpcException);
    expect(error.getError()).toEqual({ status: 'error', message: 'bad input', field: 'id' });
  });

  it('ends calls with the client-side errors too: timeout, cancellation, an answer over maxMessageBytes', async () => {
    const client = toPlain({ maxMessageBytes: 64 });
    expect(await errorOf(client.call('slow', 200, { timeoutMs: 20 }))).toBeInstanceOf(RpcTimeoutException);
    expect(await errorOf(client.call('slow', 200, { signal: AbortSignal.timeout(20) }))).toBeInstanceOf(CancelledException);
    expect(await errorOf(client.call('echo', 'x'.repeat(100)))).toBeInstanceOf(InvalidResponseException);
    expect(await client.call('echo', 'small')).toBe('small');
  });

  it('reports any other handler error as Internal server error, and the connection lives on', async () => {
    const client = toPlain();
    expect((await errorOf(client.call('crash', null))).message).toBe('Internal server error');
    expect(await client.call('echo', 'still here')).toBe('still here');
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(1);
  });
});

describe('signing', () => {
  it('signs requests, events and raw messages with authSecret', async () => {
    const client = newClient({ port: signed.port, authSecret: SECRET });
    expect(await client.call('context', null)).toMatchObject({ signed: true });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, [1])).toMatchObject({ raw: [1] });
    expect(await lastValueFrom(client.emit('happened', 2))).toBeNull();
  });

  it.each([
    ['no secret', undefined],
    ['another secret', 'not-the-secret'],
  ])('gets AuthException with %s', async (_name, authSecret) => {
    const client = newClient({ port: signed.port, authSecret });
    const error = await errorOf(client.call('echo', 1));
    expect(error).toBeInstanceOf(AuthException);
    expect(error.message).toBe("Invalid or missing message signature, make sure 'auth_secret' is set/correct");
    expect(await errorOf(lastValueFrom(client.emit('happened', 1)))).toBeInstanceOf(AuthException);
  });
});

describe('metadata and deadlines', () => {
  it("passes the dispatch hook's metadata in meta, reserved keys replaced by the remaining time", async () => {
    const client = toPlain({ timeout: 5000 });
    client.setOnDispatchHook((packet) => {
      packet.metadata = { trace: 't-1', 'arrpc-timeout-ms': '999999', 'arrpc-other': 'x' };
    });
    const before = Date.now();
    const seen = (await client.call('context', null)) as { meta: Record<string, string>; deadline: number };
    expect(Object.keys(seen.meta).sort()).toEqual(['arrpc-timeout-ms', 'trace']);
    expect(seen.meta['trace']).toBe('t-1');
    const remaining = Number(seen.meta['arrpc-timeout-ms']);
    expect(remaining).toBeGreaterThan(4000);
    expect(remaining).toBeLessThanOrEqual(5000);
    expect(seen.deadline).toBeGreaterThanOrEqual(before + 4000);
    expect(seen.deadline).toBeLessThanOrEqual(Date.now() + 5000);
  });

  it('uses call() timeoutMs over the client timeout, and writes no deadline without one', async () => {
    const client = toPlain({ timeout: 5000 });
    const seen = (await client.call('context', null, { timeoutMs: 300 })) as { meta: Record<string, string> };
    expect(Number(seen.meta['arrpc-timeout-ms'])).toBeLessThanOrEqual(300);
    expect(await toPlain().call('context', null)).toMatchObject({ meta: null, deadline: null });
  });

  it('writes no deadline in events', async () => {
    events.length = 0;
    const client = toPlain({ timeout: 5000 });
    client.setOnDispatchHook((packet) => {
      packet.metadata = { trace: 'e-1' };
    });
    await lastValueFrom(client.emit('happened', 3));
    await expect.poll(() => events).toEqual([{ data: 3, meta: { trace: 'e-1' } }]);
  });
});

describe('pool and pipeline', () => {
  beforeEach(async () => {
    await handlersDone();
    running.max = 0;
  });

  it('keeps up to pipeline requests in flight on each of poolSize connections', async () => {
    const client = toPlain({ peer: 'nestjs-arrpc', poolSize: 2, pipeline: 4 });
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 8 }, () => client.call('slow', 80)));
    expect(answers).toEqual(Array(8).fill(80));
    expect(performance.now() - started).toBeLessThan(8 * 80);
    expect(running.max).toBe(8);
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(2);
  });

  it('queues requests beyond capacity and serves them in order', async () => {
    const client = toPlain({ peer: 'nestjs-arrpc', poolSize: 1, pipeline: 2 });
    const order: number[] = [];
    await Promise.all([30, 20, 10, 5, 1].map((ms) => client.call('slow', ms).then((answer) => order.push(answer as number))));
    expect(running.max).toBe(2);
    expect(order).toEqual([30, 20, 10, 5, 1]);
  });

  it('pairs pipelined answers with their requests whatever each handler takes', async () => {
    const client = toPlain({ peer: 'nestjs-arrpc', poolSize: 1, pipeline: 8 });
    const delays = [40, 1, 20, 5, 30, 2, 10, 0];
    expect(await Promise.all(delays.map((ms) => client.call('slow', ms)))).toEqual(delays);
  });

  it('lets the other requests in flight on a connection finish when one times out or is cancelled', async () => {
    const client = toPlain({ peer: 'nestjs-arrpc', poolSize: 1, pipeline: 8 });
    const late = errorOf(client.call('slow', 200, { timeoutMs: 50 }));
    // An rxjs timeout unsubscribes: a cancellation.
    const cancelled = errorOf(lastValueFrom(client.send('slow', 150).pipe(rxTimeout(30))));
    const neighbours = Promise.all([client.call('slow', 100), client.call('slow', 50)]);
    expect(await late).toBeInstanceOf(RpcTimeoutException);
    expect(await cancelled).toBeInstanceOf(TimeoutError);
    // Answers come in order: theirs after the two given up, which were read and dropped.
    expect(await neighbours).toEqual([100, 50]);
    expect(await client.call('echo', 'after')).toBe('after');
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(1);
  });

  it('closes the connection when a cancelled answer is not back by its deadline, failing those behind it', async () => {
    const client = toPlain({ peer: 'nestjs-arrpc', poolSize: 1, pipeline: 8 });
    const controller = new AbortController();
    const cancelled = errorOf(client.call('slow', 400, { timeoutMs: 150, signal: controller.signal }));
    const behind = errorOf(client.call('slow', 10));
    await expect.poll(() => running.max).toBe(2);
    controller.abort();
    expect(await cancelled).toBeInstanceOf(CancelledException);
    const started = performance.now();
    const error = await behind;
    expect(error).toBeInstanceOf(ConnectionLostException);
    expect(performance.now() - started).toBeLessThan(350);
    expect(await client.call('echo', 'fresh')).toBe('fresh');
  });

  it('closes the connection when nothing but given-up requests is left in flight on it', async () => {
    const client = toPlain({ peer: 'nestjs-arrpc', pipeline: 8 });
    expect(await errorOf(client.call('slow', 200, { timeoutMs: 30 }))).toBeInstanceOf(RpcTimeoutException);
    await expect.poll(() => client.unwrap<ConnectionPool>().sockets.length).toBe(0);
    expect(await client.call('echo', 'fresh')).toBe('fresh');
  });
});

describe('a draining server', () => {
  it('answers UnavailableException to requests written after close() began; the client drops the connection', async () => {
    await handlersDone();
    const server = track(await startServer([TestController], { drainTimeoutMs: 2000 }));
    const client = newClient({ port: server.port, conMaxRetries: 1 });
    const first = client.call('slow', 150);
    await expect.poll(() => running.now).toBe(1);
    const closing = server.close();
    await sleep(20);
    const second = errorOf(client.call('echo', 'too late'));
    expect(await first).toBe(150);
    const error = await second;
    expect(error).toBeInstanceOf(UnavailableException);
    expect(error.message).toBe('server is draining');
    await closing;
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(0);
    expect(await errorOf(client.call('echo', 'gone'))).toBeInstanceOf(ConnectException);
  });
});

describe('TLS', () => {
  const certs = getTestCerts();
  let files: CertFiles;
  beforeAll(async () => {
    files = await writeCertFiles(certs);
  });
  afterAll(() => files.cleanup());

  it('verifies the server with tlsCaFile', async () => {
    const server = track(await startServer([TestController], { tlsCertFile: files.files.server.certFile, tlsKeyFile: files.files.server.keyFile }));
    const client = newClient({ port: server.port, tlsCaFile: files.files.ca.certFile });
    expect(await client.call('context', null)).toMatchObject({ tls: true });
  });

  it('pins a self-signed server certificate, and refuses any other', async () => {
    const server = track(await startServer([TestController], { tlsCertFile: files.files.otherServer.certFile, tlsKeyFile: files.files.otherServer.keyFile }));
    const pinned = newClient({ port: server.port, tlsCaFile: files.files.otherServer.certFile, tlsSelfSigned: true });
    expect(await pinned.call('echo', 'pinned')).toBe('pinned');
    const other = newClient({ port: server.port, tlsCaFile: files.files.server.certFile, tlsSelfSigned: true, conMaxRetries: 1 });
    expect(await errorOf(other.call('echo', 1))).toBeInstanceOf(ConnectException);
  });

  it('presents a client certificate for mutual TLS', async () => {
    const server = track(
      await startServer([TestController], {
        tlsCertFile: files.files.server.certFile,
        tlsKeyFile: files.files.server.keyFile,
        tls: { ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true },
      }),
    );
    const client = newClient({ port: server.port, tlsCaFile: files.files.ca.certFile, tls: { cert: certs.client.cert, key: certs.client.key } });
    expect(await client.call('echo', 'mutual')).toBe('mutual');
    const anonymous = newClient({ port: server.port, tlsCaFile: files.files.ca.certFile, conMaxRetries: 1, timeout: 1000 });
    expect(['ARRPC_ERR_CONNECT', 'ARRPC_ERR_CONNECTION_LOST']).toContain((await errorOf(anonymous.call('echo', 1))).code);
  });
});
