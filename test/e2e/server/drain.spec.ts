// close() drains (PROTOCOL.md "Closing a server"): requests received before it are answered,
// envelopes after it get UnavailableException without a handler, plain messages are still served,
// and at drainTimeoutMs running handlers are aborted and the sockets closed.
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  ArrpcClient,
  ArrpcContext,
  MessageEncoder,
  buildEnvelope,
  decodeMessage,
  type ArrpcServerOptions,
} from '../../../lib/index.js';
import { PythonStyleClient } from '../../support/python-client.js';
import { connectRaw } from '../../support/sockets.js';
import { TestPeer, sleep, startServer, type TestServer } from './helpers.js';

const UNAVAILABLE = 'arrpc.error.UnavailableException: server is draining';

let started = 0;
let eventFinished = false;
const abortReasons: string[] = [];

@Controller()
class DrainController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Payload() data: unknown): unknown {
    return { echo: data };
  }

  @MessagePattern('delay')
  async delay(@Payload() { id, ms }: { id: number; ms: number }): Promise<number> {
    started++;
    await sleep(ms);
    return id;
  }

  @MessagePattern('until.aborted')
  untilAborted(@Ctx() ctx: ArrpcContext): Promise<string> {
    started++;
    const signal = ctx.getAbortSignal();
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve('not aborted'), 5000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        abortReasons.push(String((signal.reason as Error).message));
        resolve('aborted');
      });
    });
  }

  @EventPattern('slow.event')
  async slowEvent(@Payload() ms: number): Promise<void> {
    await sleep(ms);
    eventFinished = true;
  }
}

describe('ArrpcServer.close() drains', () => {
  let server: TestServer;
  const peers: TestPeer[] = [];

  beforeEach(() => {
    started = 0;
    eventFinished = false;
    abortReasons.length = 0;
  });
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.destroy();
    await server.close();
  });

  async function start(options: ArrpcServerOptions = {}): Promise<TestServer> {
    server = await startServer([DrainController], { drainTimeoutMs: 3000, ...options });
    return server;
  }

  async function connect(): Promise<TestPeer> {
    const peer = await TestPeer.connect(server.port);
    peers.push(peer);
    return peer;
  }

  it('answers every request received before close, while plain messages keep being served', async () => {
    await start();
    const connections = await Promise.all(Array.from({ length: 20 }, () => connect()));
    const plainPeer = await connect();
    for (const [c, peer] of connections.entries()) {
      for (let r = 0; r < 5; r++) await peer.sendRequest('delay', { id: c * 5 + r, ms: 100 + 20 * r });
    }
    await expect.poll(() => started, { timeout: 2000 }).toBe(100);
    const startedAt = Date.now();
    const closing = server.close();

    const answers = await Promise.all(
      connections.map(async (peer) => {
        const own = [];
        for (let r = 0; r < 5; r++) own.push(await peer.next());
        // Its last answer written, a connection that carried envelopes is closed by the server.
        expect(await peer.raw.waitClosed(1000)).toBe(true);
        return own;
      }),
    );
    answers.forEach((own, c) => expect(own).toEqual([0, 1, 2, 3, 4].map((r) => c * 5 + r)));
    // A Python client's plain message during the drain is served as usual.
    expect(await plainPeer.call('still there?')).toEqual({ echo: 'still there?' });
    plainPeer.destroy();
    await closing;
    // Every connection closed once answered: the drain ends then, long before drainTimeoutMs.
    expect(Date.now() - startedAt).toBeLessThan(1500);
  });

  it('answers envelopes that arrive after close began with UnavailableException, in order, running no handler', async () => {
    await start();
    const peer = await connect();
    // A plain message first: a connection that has carried no envelope is not closed when the drain starts.
    expect(await peer.call('before')).toEqual({ echo: 'before' });
    const closing = server.close();
    const encoder = new MessageEncoder();
    const later = [
      buildEnvelope('request', 'delay', { id: 1, ms: 0 }),
      'plain',
      buildEnvelope('event', 'slow.event', 0),
      buildEnvelope('request', 'arrpc.ping', null),
    ];
    // In one write, so all four are read before the first answer goes out.
    await peer.writeRaw(Buffer.concat(later.map((value) => encoder.encode(value))));
    expect([await peer.next(), await peer.next(), await peer.next(), await peer.next()]).toEqual([
      UNAVAILABLE,
      { echo: 'plain' },
      UNAVAILABLE,
      UNAVAILABLE,
    ]);
    expect(started).toBe(0);
    expect(eventFinished).toBe(false);
    // It has carried envelopes now, and nothing is in flight: the server closes it.
    expect(await peer.raw.waitClosed(1000)).toBe(true);
    await closing;
  });

  it('closes an idle ArrpcClient connection as soon as the drain starts, long before drainTimeoutMs', async () => {
    await start({ drainTimeoutMs: 10_000 });
    const client = new ArrpcClient({ port: server.port, peer: 'nestjs-arrpc' });
    try {
      expect(await client.call('delay', { id: 7, ms: 0 })).toBe(7);
      const startedAt = Date.now();
      await server.close();
      expect(Date.now() - startedAt).toBeLessThan(1000);
      // The drain notice told the client why: the server drains, the connection did not break.
      expect(client.unwrap().endpoints[0]!.state).toBe('draining');
    } finally {
      await client.close();
    }
  });

  it('closes a connection that has carried envelopes right after its last answer is written', async () => {
    await start({ drainTimeoutMs: 10_000 });
    const peer = await connect();
    await peer.sendRequest('delay', { id: 3, ms: 300 });
    await expect.poll(() => started, { timeout: 2000 }).toBe(1);
    const startedAt = Date.now();
    const closing = server.close();
    expect(await peer.next()).toBe(3);
    // Then the drain notice, an answer to no request, and the close.
    expect(await peer.next()).toBe(UNAVAILABLE);
    expect(await peer.raw.waitClosed(1000)).toBe(true);
    await closing;
    expect(Date.now() - startedAt).toBeLessThan(1500);
  });

  it('keeps serving a plain (Python) peer until it closes, whatever the drain', async () => {
    await start({ drainTimeoutMs: 10_000 });
    const python = await PythonStyleClient.connect(server.port);
    const encoder = new MessageEncoder();
    try {
      expect(decodeMessage((await python.call(encoder.encode('first'))) as Buffer)).toEqual({ echo: 'first' });
      let closed = false;
      const closing = server.close().then(() => (closed = true));
      await sleep(300);
      expect(closed).toBe(false);
      expect(decodeMessage((await python.call(encoder.encode('during'))) as Buffer)).toEqual({ echo: 'during' });
      python.close();
      await closing;
    } finally {
      python.close();
    }
  });

  it('stops listening at once: new connections are refused', async () => {
    await start();
    const { port } = server;
    const peer = await connect();
    const closing = server.close();
    await expect(connectRaw(port)).rejects.toThrow(/ECONNREFUSED/);
    peer.destroy();
    await closing;
  });

  it('pushes connected, draining, disconnected on the status stream', async () => {
    await start();
    const statuses: string[] = [];
    const subscription = server.server.status.subscribe((status) => statuses.push(status));
    const peer = await connect();
    const closing = server.close();
    await sleep(20);
    expect(statuses).toEqual(['connected', 'draining']);
    peer.destroy();
    await closing;
    expect(statuses).toEqual(['connected', 'draining', 'disconnected']);
    subscription.unsubscribe();
  });

  it('waits for a running event handler even after its peer has gone', async () => {
    await start();
    const peer = await connect();
    await peer.sendEvent('slow.event', 200);
    expect(await peer.next()).toBeNull();
    peer.destroy();
    await server.close();
    expect(eventFinished).toBe(true);
  });

  it('at drainTimeoutMs aborts running handlers, closes idle and busy connections, and resolves', async () => {
    await start({ drainTimeoutMs: 200 });
    const busy = await connect();
    const idle = await connect();
    await busy.sendRequest('until.aborted', null);
    await expect.poll(() => started, { timeout: 2000 }).toBe(1);
    const startedAt = Date.now();
    await server.close();
    const took = Date.now() - startedAt;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1000);
    expect(abortReasons).toEqual(['the server closed at its drain deadline']);
    expect(await busy.raw.waitClosed()).toBe(true);
    expect(await idle.raw.waitClosed()).toBe(true);
  });
});
