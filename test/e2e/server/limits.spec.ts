// Limits (DECISIONS.md "What bad input gets"): connections, the time a started message may take,
// idle connections, message size and depth. A breach closes only its own connection, after the
// answers to the complete messages before it.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { afterEach, describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, type ArrpcServerOptions } from '../../../lib/index.js';
import { TestPeer, sleep, startServer, type TestServer } from './helpers.js';

@Controller()
class EchoController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('delay')
  async delay(@Payload() ms: number): Promise<number> {
    await sleep(ms);
    return ms;
  }
}

describe('ArrpcServer limits', () => {
  let server: TestServer;
  const peers: TestPeer[] = [];
  afterEach(async () => {
    for (const peer of peers.splice(0)) peer.destroy();
    await server.close();
  });

  async function start(options: ArrpcServerOptions): Promise<void> {
    server = await startServer([EchoController], { drainTimeoutMs: 0, ...options });
  }

  async function connect(): Promise<TestPeer> {
    const peer = await TestPeer.connect(server.port);
    peers.push(peer);
    return peer;
  }

  it('closes a connection beyond maxConnections at once, leaving the others served', async () => {
    await start({ maxConnections: 2 });
    const first = await connect();
    const second = await connect();
    const third = await connect();
    expect(await third.raw.waitClosed(1000)).toBe(true);
    expect(await first.call(1)).toBe(1);
    expect(await second.call(2)).toBe(2);
  });

  it('closes a connection whose message does not finish within incompleteMessageTimeoutMs', async () => {
    await start({ incompleteMessageTimeoutMs: 200 });
    const peer = await connect();
    await peer.writeRaw('d9 05 61 62'); // str 8 of 5 bytes, 2 sent
    const startedAt = Date.now();
    expect(await peer.raw.waitClosed(2000)).toBe(true);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
  });

  it('lets a message arrive in pieces within the limit, and never times a connection with no message started', async () => {
    await start({ incompleteMessageTimeoutMs: 200 });
    const peer = await connect();
    await peer.writeRaw('d9 05 61 62');
    await sleep(100);
    await peer.writeRaw('63 64 65');
    expect(await peer.next()).toBe('abcde');
    await sleep(300);
    expect(await peer.call('still open')).toBe('still open');
  });

  it('closes a connection idle for idleTimeoutMs, but not while a handler runs', async () => {
    await start({ idleTimeoutMs: 200 });
    const busy = await connect();
    const idle = await connect();
    expect(await busy.request('delay', 400)).toBe(400);
    expect(await idle.raw.waitClosed(1000)).toBe(true);
    expect(busy.closed).toBe(false);
    expect(await busy.raw.waitClosed(1000)).toBe(true);
  });

  it('answers the earlier requests, then closes, when a claimed length breaks maxMessageBytes', async () => {
    await start({ maxMessageBytes: 1024 });
    const peer = await connect();
    const other = await connect();
    // "ok", then a str 16 claiming 5000 bytes: refused before any of them arrives.
    await peer.writeRaw('a2 6f 6b da 13 88');
    expect(await peer.next()).toBe('ok');
    expect(await peer.raw.waitClosed(1000)).toBe(true);
    expect(await other.call('unaffected')).toBe('unaffected');
  });

  it('closes a connection whose message nests deeper than maxDepth', async () => {
    await start({ maxDepth: 5 });
    const peer = await connect();
    expect(await peer.call([[[[1]]]])).toEqual([[[[1]]]]);
    await peer.writeRaw('91'.repeat(10) + '01');
    expect(await peer.raw.waitClosed(1000)).toBe(true);
  });

  it('closes the connection when the peer ends inside a message, after answering what came whole', async () => {
    await start({});
    const peer = await connect();
    await peer.writeRaw('a1 61 d9 05');
    await peer.raw.end();
    expect(await peer.next()).toBe('a');
    expect(await peer.raw.waitClosed(1000)).toBe(true);
  });
});
