// The Nest 12 transport contract: on() and unwrap(), the processing hooks around every message,
// debug logs that never hold the secret or payloads, and a hybrid HTTP + arrpc application.
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { Controller, Get } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, ARRPC_TRANSPORT_ID, ArrpcContext, ArrpcServer, buildEnvelope } from '../../../lib/index.js';
import { freeServerClose, listen, unusedPort } from '../../support/sockets.js';
import { CapturingLogger, TestPeer, portOf, startServer } from './helpers.js';

@Controller()
class AppController {
  @Get('health')
  health(): { ok: boolean } {
    return { ok: true };
  }

  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @EventPattern<string>('noted')
  noted(): void {}
}

describe('ArrpcServer, Nest contract', () => {
  it('throws from unwrap() before listen, and gives the net.Server after', async () => {
    const strategy = new ArrpcServer({ port: 0 });
    expect(() => strategy.unwrap()).toThrow(/listen/);
    const app = await NestFactory.createMicroservice({ module: class M {}, controllers: [AppController] }, { strategy, logger: false });
    try {
      await app.listen();
      expect((strategy.unwrap<NetServer>().address() as AddressInfo).address).toBe('127.0.0.1');
    } finally {
      await app.close();
    }
  });

  it('frees the port when close() comes while listen() is still binding, and says listen failed', async () => {
    const port = await unusedPort();
    // 'localhost' is looked up before the bind, which leaves close() a window to come in.
    const strategy = new ArrpcServer({ host: 'localhost', port });
    const listened = new Promise<unknown>((resolve) => strategy.listen(resolve));
    const created = (): NetServer | undefined => {
      try {
        return strategy.unwrap<NetServer>();
      } catch {
        return undefined;
      }
    };
    while (created() === undefined) await new Promise(setImmediate);
    expect(created()!.listening).toBe(false);
    await strategy.close();
    expect(String(await listened)).toMatch(/closed before it listened/);
    expect(() => strategy.unwrap()).toThrow(/ArrpcServer did not listen: ArrpcServer was closed before it listened/);
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(port, 'localhost', () => resolve());
    });
    await freeServerClose(probe);
  });

  it('throws a clear error from unwrap() after a failed listen, not a dead server', async () => {
    const taken = createServer();
    const port = await listen(taken);
    const strategy = new ArrpcServer({ port });
    try {
      const error = await new Promise<unknown>((resolve) => strategy.listen(resolve));
      expect((error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
      expect(() => strategy.unwrap()).toThrow(/ArrpcServer did not listen: listen EADDRINUSE/);
      await strategy.close();
    } finally {
      await freeServerClose(taken);
    }
  });

  it('answers Internal server error, and goes on, when deciding what a message gets throws', async () => {
    class StrictServer extends ArrpcServer {
      override getPatternAsString(pattern: unknown): string {
        if (pattern === 'unsayable') throw new Error('a bug in the server itself');
        return super.getPatternAsString(pattern as string);
      }
    }
    const logger = new CapturingLogger();
    const strategy = new StrictServer({ port: 0, drainTimeoutMs: 0 });
    const app = await NestFactory.createMicroservice({ module: class M {}, controllers: [AppController] }, { strategy, logger });
    await app.listen();
    const peer = await TestPeer.connect(portOf(strategy));
    try {
      await peer.sendRequest('unsayable', 1);
      await peer.send('after');
      expect(await peer.next()).toBe('arrpc.error.RpcException: Internal server error');
      expect(await peer.next()).toBe('after');
      expect(logger.lines.some((line) => line.startsWith('error') && line.includes('a bug in the server itself'))).toBe(true);
    } finally {
      peer.destroy();
      await app.close();
    }
  });

  it('warns, once per connection, about a plain answer a Python client cannot read whole, and still sends it', async () => {
    const logger = new CapturingLogger();
    const server = await startServer([AppController], {}, logger);
    const peer = await TestPeer.connect(server.port);
    try {
      const text = 'q'.repeat(69_627); // a str 32 of 17 x 4096 bytes: no header left to widen
      expect(await peer.call(text)).toBe(text);
      expect(await peer.call(text)).toBe(text);
    } finally {
      peer.destroy();
      await server.close();
    }
    const warnings = logger.lines.filter((line) => line.startsWith('warn'));
    expect(warnings).toEqual([expect.stringMatching(/is 69632 bytes, a multiple of 4096 with no header that can be widened: a Python client never reads it whole/)]);
  });

  it('keeps listeners registered with on() before listen', async () => {
    const strategy = new ArrpcServer({ port: 0 });
    const seen: string[] = [];
    strategy.on('listening', () => seen.push('listening'));
    strategy.on('connection', () => seen.push('connection'));
    const app = await NestFactory.createMicroservice({ module: class M {}, controllers: [AppController] }, { strategy, logger: false });
    await app.listen();
    const peer = await TestPeer.connect(portOf(strategy));
    try {
      expect(await peer.call(1)).toBe(1);
      expect(seen).toEqual(['listening', 'connection']);
    } finally {
      peer.destroy();
      await app.close();
    }
  });

  it('runs the processing start and end hooks around every request and event', async () => {
    const server = await startServer([AppController]);
    const hooks: string[] = [];
    server.server.setOnProcessingStartHook((transportId, context, done) => {
      expect(transportId).toBe(ARRPC_TRANSPORT_ID);
      hooks.push(`start ${(context as ArrpcContext).getPattern()}`);
      return done();
    });
    server.server.setOnProcessingEndHook((_transportId, context) => hooks.push(`end ${(context as ArrpcContext).getPattern()}`));
    const peer = await TestPeer.connect(server.port);
    try {
      expect(await peer.call('x')).toBe('x');
      await peer.sendEvent('noted', null);
      expect(await peer.next()).toBeNull();
      await expect.poll(() => hooks.length).toBe(4);
      expect(hooks).toEqual(['start arrpc', 'end arrpc', 'start noted', 'end noted']);
    } finally {
      peer.destroy();
      await server.close();
    }
  });

  it('logs connections, messages and closes in debug mode, never the secret or the payload', async () => {
    const logger = new CapturingLogger();
    const secret = 'do-not-log-this-secret';
    const server = await startServer([AppController], { debug: true, authSecret: secret }, logger);
    const peer = await TestPeer.connect(server.port);
    try {
      expect(await peer.call({ marker: 'payload-must-not-be-logged' }, secret)).toEqual({ marker: 'payload-must-not-be-logged' });
      expect(await peer.call(buildEnvelope('event', 'noted', 'payload-must-not-be-logged'), secret)).toBeNull();
      expect(await peer.call('unsigned payload-must-not-be-logged')).toMatch(/AuthException/);
      peer.destroy();
      await expect.poll(() => logger.lines.some((line) => line.includes('closed'))).toBe(true);
    } finally {
      await server.close();
    }
    const debugLines = logger.lines.filter((line) => line.startsWith('debug'));
    expect(debugLines.some((line) => line.includes('connected'))).toBe(true);
    expect(debugLines.some((line) => /plain message for "arrpc" \(\d+ bytes\)/.test(line))).toBe(true);
    expect(debugLines.some((line) => /event "noted" \(\d+ bytes\)/.test(line))).toBe(true);
    expect(debugLines.some((line) => line.includes('refused'))).toBe(true);
    expect(logger.lines.join('\n')).not.toMatch(/do-not-log-this-secret|payload-must-not-be-logged/);
  });
});

describe('ArrpcServer in a hybrid HTTP + arrpc application', () => {
  it('answers HTTP and arrpc from one app, and app.close() closes both', async () => {
    const strategy = new ArrpcServer({ port: 0 });
    const app = await NestFactory.create({ module: class HybridModule {}, controllers: [AppController] }, { logger: false });
    app.connectMicroservice({ strategy });
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    const httpPort = (app.getHttpServer().address() as AddressInfo).port;
    const peer = await TestPeer.connect(portOf(strategy));
    try {
      const response = await fetch(`http://127.0.0.1:${httpPort}/health`);
      expect(await response.json()).toEqual({ ok: true });
      expect(await peer.call({ from: 'arrpc' })).toEqual({ from: 'arrpc' });
    } finally {
      peer.destroy();
      await app.close();
    }
    expect(strategy.unwrap<NetServer>().listening).toBe(false);
  });
});
