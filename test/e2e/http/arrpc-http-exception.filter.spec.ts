// ArrpcHttpExceptionFilter in a real Nest HTTP app (Express): each route calls, through an
// ArrpcClient, an upstream that fails one way, and the HTTP caller gets the status and body the
// filter promises. In a hybrid app the same global filter leaves arrpc handlers' errors alone.
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, type INestApplication, Module, Param } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArrpcClient,
  ArrpcHttpExceptionFilter,
  ArrpcServer,
  MessageEncoder,
  RemoteRpcException,
  type ArrpcClientOptions,
} from '../../../lib/index.js';
import { startPythonPeer, type PythonPeer } from '../../support/python-peer.js';
import { unusedPort } from '../../support/sockets.js';
import { startScriptedServer, type ScriptedServer } from '../client/helpers.js';

const CALLS = Symbol('calls');

/** One route per way to fail: GET /fail/:how runs `calls[how]()`. */
@Controller('fail')
class FailingController {
  constructor(@Inject(CALLS) private readonly calls: Record<string, () => Promise<unknown>>) {}

  @Get(':how')
  run(@Param('how') how: string): Promise<unknown> {
    return this.calls[how]!();
  }
}

describe('ArrpcHttpExceptionFilter in an HTTP app', () => {
  const clients: ArrpcClient[] = [];
  let python: PythonPeer;
  let slow: PythonPeer;
  let signed: PythonPeer;
  let garbage: ScriptedServer;
  let draining: ScriptedServer;
  let app: INestApplication;
  let base: string;

  const client = (options: ArrpcClientOptions): ArrpcClient => {
    const made = new ArrpcClient({ conMaxRetries: 1, retryBaseMs: 10, timeout: 2000, ...options });
    clients.push(made);
    return made;
  };

  beforeAll(async () => {
    python = await startPythonPeer();
    slow = await startPythonPeer({ delayMs: 1000 });
    signed = await startPythonPeer({ authSecret: 'right' });
    garbage = await startScriptedServer(() => Buffer.from([0xc1]));
    const drainingAnswer = Buffer.from(new MessageEncoder().encode('arrpc.error.UnavailableException: server is draining'));
    draining = await startScriptedServer(() => drainingAnswer);
    const closed = client({ port: python.port });
    await closed.close();
    const calls: Record<string, () => Promise<unknown>> = {
      ok: () => client({ port: python.port }).call('arrpc', { return: 'fine' }),
      remote: () => client({ port: python.port }).call('arrpc', { raise: 'no such price' }),
      auth: () => client({ port: signed.port, authSecret: 'wrong' }).call('arrpc', 'x'),
      invalid: () => client({ port: garbage.port }).call('arrpc', 'x'),
      lost: () => client({ port: python.port }).call('arrpc', { crash: true }),
      connect: async () => client({ port: await unusedPort() }).call('arrpc', 'x'),
      // Only an ArrpcServer drains: a 'python' peer's answer to a raw message never means it.
      unavailable: () => client({ port: draining.port, peer: 'nestjs-arrpc' }).call('arrpc', 'x'),
      closed: () => closed.call('arrpc', 'x'),
      cancelled: () => client({ port: python.port }).call('arrpc', 'x', { signal: AbortSignal.abort() }),
      timeout: () => client({ port: slow.port }).call('arrpc', 'x', { timeoutMs: 100 }),
    };

    @Module({ controllers: [FailingController], providers: [{ provide: CALLS, useValue: calls }] })
    class HttpModule {}

    app = await NestFactory.create(HttpModule, { logger: false });
    app.useGlobalFilters(new ArrpcHttpExceptionFilter());
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}/fail`;
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all(clients.map((made) => made.close()));
    await Promise.all([python, slow, signed, garbage, draining].map((server) => server?.close()));
  });

  async function get(how: string): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${base}/${how}`);
    return { status: response.status, body: await response.json() };
  }

  it('passes answers through untouched', async () => {
    expect(await fetch(`${base}/ok`).then((response) => response.text())).toBe('fine');
  });

  it("answers a remote RpcException with 502 and the handler's message", async () => {
    expect(await get('remote')).toEqual({
      status: 502,
      body: { statusCode: 502, error: 'RemoteRpcException', code: 'ARRPC_ERR_REMOTE', message: 'no such price' },
    });
  });

  it.each([
    ['auth', 502, 'AuthException', 'ARRPC_ERR_AUTH', 'the upstream refused the message signature'],
    ['invalid', 502, 'InvalidResponseException', 'ARRPC_ERR_INVALID_RESPONSE', 'the upstream answered something unreadable'],
    ['lost', 502, 'ConnectionLostException', 'ARRPC_ERR_CONNECTION_LOST', 'the connection to the upstream broke; the request may have run'],
    ['connect', 503, 'ConnectException', 'ARRPC_ERR_CONNECT', 'no connection to the upstream'],
    ['unavailable', 503, 'UnavailableException', 'ARRPC_ERR_UNAVAILABLE', 'the upstream is shutting down'],
    ['closed', 503, 'ClientClosedException', 'ARRPC_ERR_CLIENT_CLOSED', 'the upstream client is closed'],
    ['cancelled', 503, 'CancelledException', 'ARRPC_ERR_CANCELLED', 'the upstream call was cancelled'],
    ['timeout', 504, 'RpcTimeoutException', 'ARRPC_ERR_TIMEOUT', 'the upstream did not answer in time'],
  ])('answers %s with %i, the class, its code and a sentence naming no address', async (how, status, error, code, message) => {
    expect(await get(how)).toEqual({ status, body: { statusCode: status, error, code, message } });
  });
});

describe('ArrpcHttpExceptionFilter as a hybrid app global filter', () => {
  @Controller()
  class RelayController {
    constructor(@Inject(CALLS) private readonly upstream: ArrpcClient) {}

    /** An arrpc handler whose own upstream call fails. */
    @MessagePattern('relay')
    relay(@Payload() message: unknown): Promise<unknown> {
      return this.upstream.call('arrpc', message);
    }
  }

  let python: PythonPeer;
  let upstream: ArrpcClient;
  let caller: ArrpcClient;
  let app: INestApplication;

  beforeAll(async () => {
    python = await startPythonPeer();
    upstream = new ArrpcClient({ port: python.port, timeout: 2000 });

    @Module({ controllers: [RelayController], providers: [{ provide: CALLS, useValue: upstream }] })
    class HybridModule {}

    app = await NestFactory.create(HybridModule, { logger: false });
    app.useGlobalFilters(new ArrpcHttpExceptionFilter());
    const arrpc = new ArrpcServer({ port: 0 });
    app.connectMicroservice({ strategy: arrpc }, { inheritAppConfig: true });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    caller = new ArrpcClient({ port: (arrpc.unwrap().address() as AddressInfo).port, peer: 'nestjs-arrpc', timeout: 2000 });
  });

  afterAll(async () => {
    await caller?.close();
    await app?.close();
    await upstream?.close();
    await python?.close();
  });

  it("answers an arrpc handler's failed call as Nest's own RPC filter does", async () => {
    const error = await caller.call('relay', { raise: 'upstream says no' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteRpcException);
    expect((error as RemoteRpcException).message).toBe('upstream says no');
    expect(await caller.call('relay', { return: 'relayed' })).toBe('relayed');
  });
});
