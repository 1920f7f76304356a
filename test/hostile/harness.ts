// The hostile suite's fixture: a real Nest microservice with ArrpcServer on 127.0.0.1 (small limits
// so breaches are quick), a bystander connection opened before any attack, recorders for errors that
// escape to the process, and memory samples taken after a full GC. Each spec file runs in its own
// vitest fork (vitest.config.ts), so escapes and memory figures belong to that file alone.
import type { Server as NetServer } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Controller, type Type } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, MessageEncoder, buildEnvelope, signMessage, type ArrpcServerOptions } from '../../lib/index.js';
import { CapturingLogger, TestPeer, sleep, startServer, type TestServer } from '../e2e/server/helpers.js';
import { toBytes, type Bytes } from '../support/sockets.js';

/** `maxMessageBytes` of the hostile servers: 64 KiB, so the boundary cases stay small. */
export const LIMIT_BYTES = 64 * 1024;
/** `incompleteMessageTimeoutMs` of the hostile servers. */
export const INCOMPLETE_MS = 300;
/** How long a breach may take to close its connection once its earlier answers are out. */
export const CLOSE_WITHIN_MS = 1000;

/** Options every hostile server starts with; a spec adds its own on top. */
export const HOSTILE_OPTIONS: ArrpcServerOptions = {
  maxMessageBytes: LIMIT_BYTES,
  incompleteMessageTimeoutMs: INCOMPLETE_MS,
  drainTimeoutMs: 0,
  debug: true,
};

/** Handlers the attacks aim at: echoes, a slow one, and an event with a handler. */
@Controller()
export class HostileController {
  static events = 0;

  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('delay')
  async delay(@Payload() ms: number): Promise<number> {
    await sleep(ms);
    return ms;
  }

  /** Answers `size` zero bytes (at most 4 MiB): small requests, large answers. */
  @MessagePattern('big')
  big(@Payload() size: number): Uint8Array {
    return new Uint8Array(Math.min(size, 4 * 1024 * 1024));
  }

  @EventPattern('noted')
  noted(@Payload() _data: unknown): void {
    HostileController.events++;
  }
}

/** Errors that reached the process instead of being handled: must stay empty. */
export function recordEscapes(): string[] {
  const escapes: string[] = [];
  const onRejection = (reason: unknown): void => {
    escapes.push(`unhandledRejection: ${(reason as Error)?.stack ?? String(reason)}`);
  };
  const onException = (error: Error): void => {
    escapes.push(`uncaughtException: ${error?.stack ?? String(error)}`);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
  });
  afterAll(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    expect(escapes).toEqual([]);
  });
  return escapes;
}

/** What a hostile spec gets from {@link useHostileServer}. */
export interface HostileFixture {
  readonly server: TestServer;
  readonly port: number;
  /** Every line Nest logged, debug included. */
  readonly logger: CapturingLogger;
  /** Opened before any attack; must be answered during and after each. */
  readonly bystander: TestPeer;
  /** The process-level recorder of this file. */
  readonly escapes: readonly string[];
  /** A new connection (TLS when the fixture is), destroyed after the test. */
  connect(): Promise<TestPeer>;
  /** Sends `value` (signed when the server has a secret) and waits for its answer. */
  ask(peer: TestPeer, value: unknown, timeoutMs?: number): Promise<unknown>;
  /** The bystander is answered, a new connection is answered, the server listens, nothing escaped. */
  expectHealthy(): Promise<void>;
  /**
   * Writes one complete request, then `attack`, in one write: the request's answer must come,
   * then the close within {@link CLOSE_WITHIN_MS} of it; the debug log names `reason`.
   */
  expectBreach(attack: Bytes, reason: RegExp, peer?: TestPeer): Promise<void>;
}

/** Settings of {@link useHostileServer}. */
export interface HostileSettings {
  /** Added on top of {@link HOSTILE_OPTIONS}. */
  readonly options?: ArrpcServerOptions;
  readonly controllers?: Type[];
  /** Connect with TLS using these options. */
  readonly tls?: ConnectionOptions;
}

/** Starts one server for the spec file (beforeAll) and closes it after (afterAll). */
export function useHostileServer(settings: HostileSettings = {}): HostileFixture {
  const escapes = recordEscapes();
  const options = { ...HOSTILE_OPTIONS, ...settings.options };
  // The hostile peer signs as a client does: with the first of a list.
  const secret = typeof options.authSecret === 'object' ? options.authSecret[0] : options.authSecret;
  const encoder = new MessageEncoder();
  const logger = new CapturingLogger();
  const opened: TestPeer[] = [];
  let server: TestServer | undefined;
  let bystander: TestPeer | undefined;
  let round = 0;

  const wire = (value: unknown): Buffer => {
    const bytes = encoder.encode(value);
    return secret === undefined ? bytes : signMessage(encoder, bytes, secret);
  };
  const connect = async (): Promise<TestPeer> => {
    const peer = await TestPeer.connect(server!.port, settings.tls);
    opened.push(peer);
    return peer;
  };
  const ask = async (peer: TestPeer, value: unknown, timeoutMs?: number): Promise<unknown> => {
    await peer.writeRaw(wire(value));
    return peer.next(timeoutMs);
  };

  beforeAll(async () => {
    server = await startServer(settings.controllers ?? [HostileController], options, logger);
    bystander = await TestPeer.connect(server.port, settings.tls);
  });
  afterEach(() => {
    for (const peer of opened.splice(0)) peer.destroy();
  });
  afterAll(async () => {
    bystander?.destroy();
    await server?.close();
  });

  const fixture: HostileFixture = {
    get server() {
      return server!;
    },
    get port() {
      return server!.port;
    },
    logger,
    get bystander() {
      return bystander!;
    },
    escapes,
    connect,
    ask,
    async expectHealthy() {
      const n = ++round;
      expect(server!.server.unwrap<NetServer>().listening).toBe(true);
      expect(bystander!.closed).toBe(false);
      expect(await ask(bystander!, buildEnvelope('request', 'echo', { bystander: n }))).toEqual({ bystander: n });
      const fresh = await connect();
      expect(await ask(fresh, buildEnvelope('request', 'echo', { fresh: n }))).toEqual({ fresh: n });
      expect(await ask(fresh, { plain: n })).toEqual({ plain: n });
      fresh.destroy();
      expect(escapes).toEqual([]);
    },
    async expectBreach(attack, reason, given) {
      const peer = given ?? (await connect());
      const n = ++round;
      await peer.writeRaw(Buffer.concat([wire(buildEnvelope('request', 'echo', { before: n })), toBytes(attack)]));
      expect(await peer.next()).toEqual({ before: n });
      const answeredAt = Date.now();
      expect(await peer.raw.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
      expect(Date.now() - answeredAt).toBeLessThan(CLOSE_WITHIN_MS);
      expect(peer.pending).toBe(0);
      await expectCloseLogged(logger, peer, reason);
    },
  };
  return fixture;
}

/** The server's debug log says why it closed `peer`'s connection (its lines name the peer's port). */
export async function expectCloseLogged(logger: CapturingLogger, peer: TestPeer, reason: RegExp): Promise<void> {
  const tag = `127.0.0.1:${peer.socket.localPort} closing: `;
  const logged = (): boolean => logger.lines.some((line) => line.startsWith('debug') && line.includes(tag) && reason.test(line));
  await expect.poll(logged).toBe(true);
}

/** A memory sample taken after a full garbage collection. */
export interface MemorySample {
  /** `heapUsed + arrayBuffers`, in bytes: what the process holds, GC'd (DECISIONS.md). */
  readonly held: number;
  /** Resident set size, in bytes: reported beside, rarely shrinks. */
  readonly rss: number;
}

/**
 * V8 takes freed ArrayBuffers off `arrayBuffers` on a background sweeper after a GC: a sample
 * taken at once sometimes counted 15-25 MB already gone (bench/servers/arrpc-memory.mjs).
 */
const SWEEP_MS = 200;

/** Collects garbage, lets the sweeper finish, collects again (vitest runs the forks with `--expose-gc`), then samples. */
export async function sampleMemory(): Promise<MemorySample> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('the hostile suite needs node --expose-gc (vitest.config.ts execArgv)');
  gc();
  await sleep(SWEEP_MS);
  gc();
  const usage = process.memoryUsage();
  return { held: usage.heapUsed + usage.arrayBuffers, rss: usage.rss };
}

/** Bytes as MiB with one decimal, for the test output. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Prints a before/after memory line into the test output and returns the growth of `held`. */
export function reportMemory(label: string, before: MemorySample, after: MemorySample): number {
  const growth = after.held - before.held;
  console.log(
    `[memory] ${label}: heapUsed+arrayBuffers ${mib(before.held)} -> ${mib(after.held)} (${growth >= 0 ? '+' : ''}${mib(growth)}); ` +
      `rss ${mib(before.rss)} -> ${mib(after.rss)}`,
  );
  return growth;
}
