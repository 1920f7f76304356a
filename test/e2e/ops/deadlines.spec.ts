// The caller's deadline across the hop: ArrpcClient writes the time it still waits
// (`arrpc-timeout-ms`), the handler sees it as ctx.getDeadline() and an abort signal, and a
// request whose deadline passed while it waited for room never reaches its handler.
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { beforeEach, describe, expect, it } from 'vitest';
import { ArrpcClient, ArrpcContext, RpcTimeoutException } from '../../../lib/index.js';
import { clientFactory, errorOf, useCleanup } from '../client/helpers.js';
import { TestPeer, sleep, startServer } from '../server/helpers.js';
import { waitFor } from './helpers.js';

interface Seen {
  deadline: number | undefined;
  at: number;
}

const seen: Seen[] = [];
const aborts: { afterMs: number }[] = [];
let countedCalls = 0;
let downstreamPort = 0;

@Controller()
class DeadlineController {
  @MessagePattern('deadline')
  deadline(@Ctx() ctx: ArrpcContext): number | null {
    seen.push({ deadline: ctx.getDeadline(), at: Date.now() });
    return ctx.getDeadline() ?? null;
  }

  @MessagePattern('until.aborted')
  untilAborted(@Ctx() ctx: ArrpcContext): Promise<string> {
    const started = performance.now();
    const signal = ctx.getAbortSignal();
    return new Promise((resolve) => {
      signal.addEventListener('abort', () => {
        aborts.push({ afterMs: performance.now() - started });
        resolve('aborted');
      });
    });
  }

  @MessagePattern('occupy')
  async occupy(@Payload() ms: number): Promise<string> {
    await sleep(ms);
    return 'occupied';
  }

  @MessagePattern('counted')
  counted(): string {
    countedCalls++;
    return 'ran';
  }

  /** Calls another service within this request's deadline, as docs/operations.md shows. */
  @MessagePattern('relay')
  async relay(@Ctx() ctx: ArrpcContext): Promise<unknown> {
    const downstream = new ArrpcClient({ port: downstreamPort, peer: 'nestjs-arrpc' });
    try {
      const deadline = ctx.getDeadline();
      return await downstream.call('deadline', null, { timeoutMs: deadline === undefined ? undefined : deadline - Date.now() });
    } finally {
      await downstream.close();
    }
  }
}

describe('deadlines and abort signals', () => {
  const track = useCleanup();
  const client = clientFactory(track);

  beforeEach(() => {
    seen.length = 0;
    aborts.length = 0;
    countedCalls = 0;
  });

  it('shows the handler a deadline within [now+400, now+500] for a call with timeoutMs 500', async () => {
    const server = track(await startServer([DeadlineController]));
    const caller = client({ port: server.port, peer: 'nestjs-arrpc' });
    await caller.connect();

    await caller.call('deadline', null, { timeoutMs: 500 });

    expect(seen).toHaveLength(1);
    const { deadline, at } = seen[0]!;
    expect(deadline).toBeGreaterThanOrEqual(at + 400);
    expect(deadline).toBeLessThanOrEqual(at + 500);
  });

  it('shows no deadline when the caller has no timeout', async () => {
    const server = track(await startServer([DeadlineController]));
    expect(await client({ port: server.port, peer: 'nestjs-arrpc' }).call('deadline', null)).toBeNull();
  });

  it('fires the handler\'s abort signal when the caller times out', async () => {
    const server = track(await startServer([DeadlineController]));
    const caller = client({ port: server.port, peer: 'nestjs-arrpc' });

    const error = await errorOf(caller.call('until.aborted', null, { timeoutMs: 200 }));

    expect(error).toBeInstanceOf(RpcTimeoutException);
    await waitFor(() => aborts.length === 1, 2000, 'the handler was aborted');
    expect(aborts[0]!.afterMs).toBeGreaterThan(100);
    expect(aborts[0]!.afterMs).toBeLessThan(1000);
  });

  it('fires the handler\'s abort signal when the caller cancels a call that has no deadline', async () => {
    const server = track(await startServer([DeadlineController]));
    const caller = client({ port: server.port, peer: 'nestjs-arrpc' });
    const cancel = new AbortController();
    setTimeout(() => cancel.abort(), 100);

    await errorOf(caller.call('until.aborted', null, { signal: cancel.signal }));

    // The client resets the connection, so the server does not take it for a half-close.
    await waitFor(() => aborts.length === 1, 2000, 'the handler was aborted');
    expect(aborts[0]!.afterMs).toBeLessThan(1000);
  });

  it('never runs a request whose deadline passed while it was queued behind a busy handler', async () => {
    const server = track(await startServer([DeadlineController], { maxConcurrentPerConnection: 1, drainTimeoutMs: 100 }));
    // One connection: the second call is pipelined behind the first, queued on the server.
    const caller = client({ port: server.port, peer: 'nestjs-arrpc', poolSize: 1, pipeline: 4 });
    await caller.connect();

    const first = caller.call('occupy', 400).catch((error: unknown) => error);
    const second = caller.call('counted', null, { timeoutMs: 150 });

    // The server refuses it at its deadline, or the client's own timeout fires first.
    expect(await errorOf(second)).toBeInstanceOf(RpcTimeoutException);
    await first;
    await sleep(300);
    expect(countedCalls).toBe(0);
  });

  it('answers the deadline refusal itself when the caller still waits (raw envelopes, one connection)', async () => {
    const server = track(await startServer([DeadlineController], { maxConcurrentPerConnection: 1 }));
    const peer = await TestPeer.connect(server.port);
    try {
      await peer.sendRequest('occupy', 300);
      await peer.sendRequest('counted', null, { 'arrpc-timeout-ms': '100' });

      expect(await peer.next()).toBe('occupied');
      expect(await peer.next()).toBe('arrpc.error.RpcTimeoutException: deadline exceeded before the handler started');
      expect(countedCalls).toBe(0);
    } finally {
      peer.destroy();
    }
  });

  it('lets a handler pass its deadline to a downstream call', async () => {
    const downstream = track(await startServer([DeadlineController]));
    const server = track(await startServer([DeadlineController]));
    downstreamPort = downstream.port;
    const started = Date.now();

    const downstreamDeadline = (await client({ port: server.port, peer: 'nestjs-arrpc' }).call('relay', null, { timeoutMs: 800 })) as number;

    expect(downstreamDeadline).toBeGreaterThan(started + 600);
    expect(downstreamDeadline).toBeLessThanOrEqual(started + 800 + 5);
  });
});
