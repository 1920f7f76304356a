// Answers leave in request order, handlers of one connection run concurrently up to the bound,
// connections never wait on each other, and a peer that does not read its answers stops being read.
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArrpcContext, MessageEncoder, buildEnvelope } from '../../../lib/index.js';
import { TestPeer, sleep, startServer, type TestServer } from './helpers.js';

/** Handlers running now and the most seen at once, per connection (keyed by the peer's port). */
const running = new Map<number, number>();
let peakPerConnection = 0;
let bigAnswers = 0;

@Controller()
class LoadController {
  @MessagePattern('delay')
  async delay(@Payload() { id, ms }: { id: number; ms: number }, @Ctx() ctx: ArrpcContext): Promise<number> {
    const port = ctx.getRemotePort()!;
    const now = (running.get(port) ?? 0) + 1;
    running.set(port, now);
    peakPerConnection = Math.max(peakPerConnection, now);
    try {
      await sleep(ms);
      return id;
    } finally {
      running.set(port, running.get(port)! - 1);
    }
  }

  @MessagePattern('big')
  big(@Payload() size: number): Uint8Array {
    bigAnswers++;
    return new Uint8Array(size);
  }
}

describe('ArrpcServer under concurrent load', () => {
  let server: TestServer;
  const peers: TestPeer[] = [];
  beforeAll(async () => {
    server = await startServer([LoadController], { maxConcurrentPerConnection: 4 });
  });
  beforeEach(() => {
    peakPerConnection = 0;
  });
  afterEach(() => {
    for (const peer of peers.splice(0)) peer.destroy();
  });
  afterAll(() => server.close());

  async function connect(): Promise<TestPeer> {
    const peer = await TestPeer.connect(server.port);
    peers.push(peer);
    return peer;
  }

  it('answers in request order when handlers finish out of order, running them concurrently', async () => {
    const peer = await connect();
    const delays = [200, 20, 120, 0];
    const startedAt = Date.now();
    for (const [id, ms] of delays.entries()) await peer.sendRequest('delay', { id, ms });
    const answers = [];
    for (let i = 0; i < delays.length; i++) answers.push(await peer.next());
    expect(answers).toEqual([0, 1, 2, 3]);
    // One after the other would take 340 ms.
    expect(Date.now() - startedAt).toBeLessThan(320);
    expect(peakPerConnection).toBeGreaterThan(1);
  });

  it('runs at most maxConcurrentPerConnection handlers of one connection at once', async () => {
    const peer = await connect();
    for (let id = 0; id < 12; id++) await peer.sendRequest('delay', { id, ms: 30 });
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await peer.next());
    expect(answers).toEqual([...Array(12).keys()]);
    expect(peakPerConnection).toBe(4);
  });

  it('serves 100 connections at once, none waiting on another', async () => {
    const connections = await Promise.all(Array.from({ length: 100 }, () => connect()));
    const startedAt = Date.now();
    const answers = await Promise.all(
      connections.map(async (peer, id) => {
        await peer.sendRequest('delay', { id, ms: 100 });
        return peer.next(5000);
      }),
    );
    expect(answers).toEqual([...Array(100).keys()]);
    // Served one connection at a time this would take 10 s.
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  it('answers a quick request on one connection while another waits on a slow handler', async () => {
    const slow = await connect();
    const quick = await connect();
    await slow.sendRequest('delay', { id: 1, ms: 500 });
    const startedAt = Date.now();
    expect(await quick.request('delay', { id: 2, ms: 0 })).toBe(2);
    expect(Date.now() - startedAt).toBeLessThan(250);
    expect(await slow.next()).toBe(1);
  });

  it('stops reading from a peer that leaves its answers unread, and serves it in order once it reads', async () => {
    const peer = await connect();
    peer.socket.pause();
    bigAnswers = 0;
    const count = 40;
    const size = 1024 * 1024;
    // One write: every request arrives in one read, so the reading pause alone would not bound it.
    const encoder = new MessageEncoder();
    await peer.writeRaw(Buffer.concat(Array.from({ length: count }, () => encoder.encode(buildEnvelope('request', 'big', size)))));
    await sleep(300);
    // Only what the socket buffers hold was produced: the rest waits unread, not in memory.
    const producedWhileUnread = bigAnswers;
    expect(producedWhileUnread).toBeLessThan(count / 2);
    peer.socket.resume();
    for (let i = 0; i < count; i++) expect(((await peer.next(5000)) as Uint8Array).length).toBe(size);
    expect(bigAnswers).toBe(count);
  });
});
