// ArrpcClient's defaults keep a fast call from waiting behind a slow one: toward a Python peer
// the pool grows on demand up to DEFAULT_POOL_SIZE; toward an ArrpcServer a busy connection
// takes pipelined calls only once the pool is full, and none while its oldest call is older
// than headOfLineMs. Explicit poolSize and pipeline keep their old meaning.
import type { Socket } from 'node:net';
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, DEFAULT_POOL_SIZE, type ArrpcClient, type ArrpcClientOptions, type ConnectionPool } from '../../../lib/index.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { clientFactory, delayedEcho, sleep, useCleanup } from './helpers.js';

/** What the server has started handling, in order: `slow:<ms>` or the echoed value. */
const received: string[] = [];
const running = { now: 0 };

@Controller()
class PoolController {
  @MessagePattern('slow')
  async slow(@Payload() ms: number): Promise<string> {
    received.push(`slow:${ms}`);
    running.now++;
    await sleep(ms);
    running.now--;
    return `slow:${ms}`;
  }

  @MessagePattern('echo')
  echo(@Payload() value: string): string {
    received.push(value);
    return value;
  }
}

const track = useCleanup();
const newClient = clientFactory(track);
let server: TestServer;
let accepted = 0;

beforeAll(async () => {
  server = await startServer([PoolController]);
  server.server.unwrap().on('connection', (_socket: Socket) => accepted++);
});
afterAll(() => server.close());
beforeEach(async () => {
  // Handlers of an earlier test's calls may still run.
  await expect.poll(() => running.now).toBe(0);
  received.length = 0;
  accepted = 0;
});

const toServer = (options: Omit<ArrpcClientOptions, 'port'> = {}): ArrpcClient => newClient({ port: server.port, ...options });

/** Settles `promise` into `order` under `name`, keeping the value. */
function recordInto(order: string[], name: string, promise: Promise<unknown>): Promise<unknown> {
  return promise.then((value) => {
    order.push(name);
    return value;
  });
}

/**
 * Makes a 500 ms call, then a fast one 1 ms later, and checks that the fast one was answered
 * while the slow one was still pending. Returns the order the two settled in.
 */
async function fastBehindSlow(slow: () => Promise<unknown>, fast: () => Promise<unknown>): Promise<string[]> {
  const order: string[] = [];
  const slowCall = recordInto(order, 'slow', slow());
  await sleep(1);
  await recordInto(order, 'fast', fast());
  expect(order).toEqual(['fast']);
  await slowCall;
  return order;
}

describe('a fast call made 1 ms after a 500 ms call, default options', () => {
  it('toward an ArrpcServer (peer nestjs-arrpc): answered while the slow one is pending, on a second connection', async () => {
    const client = toServer({ peer: 'nestjs-arrpc' });
    const order = await fastBehindSlow(() => client.call('slow', 500), () => client.call('echo', 'fast'));
    expect(order).toEqual(['fast', 'slow']);
    expect(accepted).toBe(2);
  });

  it('toward an ArrpcServer with the default peer: answered while the slow one is pending', async () => {
    const client = toServer();
    const order = await fastBehindSlow(() => client.call('slow', 500), () => client.call('echo', 'fast'));
    expect(order).toEqual(['fast', 'slow']);
    expect(accepted).toBe(2);
  });

  it('toward a Python peer: answered while the slow one is pending, one request in flight per connection', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port });
    const order = await fastBehindSlow(
      () => client.call(ARRPC_DEFAULT_PATTERN, { delay: 500 }),
      () => client.call(ARRPC_DEFAULT_PATTERN, 'fast'),
    );
    expect(order).toEqual(['fast', 'slow']);
    expect(peer.connections).toBe(2);
    expect(peer.maxInFlight).toBe(1);
  });

  it('with poolSize 1, as before: the fast call waits for the slow one on the one connection', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port, poolSize: 1 });
    const order: string[] = [];
    const slow = recordInto(order, 'slow', client.call(ARRPC_DEFAULT_PATTERN, { delay: 200 }));
    await sleep(1);
    await Promise.all([slow, recordInto(order, 'fast', client.call(ARRPC_DEFAULT_PATTERN, 'fast'))]);
    expect(order).toEqual(['slow', 'fast']);
    expect(peer.connections).toBe(1);
  });
});

describe('the pool grows on demand up to its bound, and no further', () => {
  it(`toward a Python peer: ${DEFAULT_POOL_SIZE} connections by default, one request in flight on each`, async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port });
    const ids = Array.from({ length: DEFAULT_POOL_SIZE + 4 }, (_, id) => id);
    for (let round = 0; round < 2; round++) {
      expect(await Promise.all(ids.map((id) => client.call(ARRPC_DEFAULT_PATTERN, { id, delay: 50 })))).toEqual(ids.map((id) => ({ id, delay: 50 })));
    }
    expect(peer.connections).toBe(DEFAULT_POOL_SIZE);
    expect(peer.maxInFlight).toBe(1);
    // Opened for a burst, they stay open for the next one.
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(DEFAULT_POOL_SIZE);
  });

  it(`toward an ArrpcServer: ${DEFAULT_POOL_SIZE} connections, then calls are pipelined on them`, async () => {
    const client = toServer({ peer: 'nestjs-arrpc' });
    const calls = 3 * DEFAULT_POOL_SIZE;
    for (let round = 0; round < 2; round++) {
      expect(await Promise.all(Array.from({ length: calls }, () => client.call('slow', 50)))).toEqual(Array(calls).fill('slow:50'));
    }
    expect(accepted).toBe(DEFAULT_POOL_SIZE);
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(DEFAULT_POOL_SIZE);
  });

  it('an explicit poolSize bounds it', async () => {
    const client = toServer({ peer: 'nestjs-arrpc', poolSize: 3 });
    expect(await Promise.all(Array.from({ length: 12 }, () => client.call('slow', 30)))).toEqual(Array(12).fill('slow:30'));
    expect(accepted).toBe(3);
  });
});

describe('head-of-line bound: a stalled connection takes no more requests', () => {
  it('sends a later call to the connection that answers first, not behind the oldest call', async () => {
    const client = toServer({ peer: 'nestjs-arrpc', poolSize: 2, pipeline: 8, headOfLineMs: 50 });
    const order: string[] = [];
    const first = recordInto(order, 'slow:600', client.call('slow', 600));
    await sleep(1);
    const second = recordInto(order, 'slow:300', client.call('slow', 300));
    await expect.poll(() => received).toEqual(['slow:600', 'slow:300']);
    await sleep(100);
    // The oldest call on each connection is older than 50 ms, and the pool is full: it waits.
    const late = recordInto(order, 'late', client.call('echo', 'late'));
    await sleep(100);
    expect(received).toEqual(['slow:600', 'slow:300']);
    await Promise.all([first, second, late]);
    expect(order).toEqual(['slow:300', 'late', 'slow:600']);
    expect(accepted).toBe(2);
  });

  it.each([
    ['behind a call younger than the bound', 5_000],
    ['with headOfLineMs 0 (no bound), behind a call of any age', 0],
  ])('a full pool pipelines %s', async (_name, headOfLineMs) => {
    const client = toServer({ peer: 'nestjs-arrpc', poolSize: 1, pipeline: 8, headOfLineMs });
    const slow = client.call('slow', 300);
    await sleep(100);
    const late = client.call('echo', 'late');
    // Written at once: the server has it while the slow call still runs; answered after it, in order.
    await expect.poll(() => received).toEqual(['slow:300', 'late']);
    expect(running.now).toBe(1);
    expect(await Promise.all([slow, late])).toEqual(['slow:300', 'late']);
  });
});
