// Shared pieces of the server e2e suite: a real Nest microservice on 127.0.0.1 port 0, and a
// raw-socket peer that writes MessagePack values with the library's own codec and reads answers
// with its stream decoder (the client library is built separately and is not used here).
import type { AddressInfo, Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { INestMicroservice, LoggerService, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ArrpcServer, MessageDecoder, MessageEncoder, buildEnvelope, signMessage, type ArrpcServerOptions } from '../../../lib/index.js';
import { connectRaw, toBytes, type Bytes, type RawSocket } from '../../support/sockets.js';

/** Default wait for one answer, in ms. */
export const ANSWER_WAIT_MS = 2000;

/** A running microservice and how to reach it. */
export interface TestServer {
  readonly app: INestMicroservice;
  readonly server: ArrpcServer;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts `controllers` as an arrpc microservice (port 0 unless `options.port` says otherwise); Nest logs nothing unless given a `logger`. */
export async function startServer(
  controllers: Type[],
  options: ArrpcServerOptions = {},
  logger: LoggerService | false = false,
): Promise<TestServer> {
  const server = new ArrpcServer({ port: 0, ...options });
  const app = await NestFactory.createMicroservice(
    { module: class TestModule {}, controllers },
    { strategy: server, logger },
  );
  await app.listen();
  return { app, server, port: portOf(server), close: () => app.close() };
}

/** The port an `ArrpcServer` listens on. */
export function portOf(server: ArrpcServer): number {
  return (server.unwrap().address() as AddressInfo).port;
}

/** A peer on a raw socket: writes values, reads decoded answers one by one, in order. */
export class TestPeer {
  private readonly encoder = new MessageEncoder();
  private readonly decoder = new MessageDecoder();
  private readonly answers: unknown[] = [];
  private wake: (() => void) | undefined;

  private constructor(readonly raw: RawSocket) {
    raw.socket.on('data', (chunk: Buffer) => {
      this.decoder.write(chunk, (value) => this.answers.push(value));
      this.wake?.();
    });
  }

  /** Connects to 127.0.0.1:`port`, with TLS when `tls` is given. */
  static async connect(port: number, tls?: ConnectionOptions): Promise<TestPeer> {
    return new TestPeer(await connectRaw(port, '127.0.0.1', tls ? { tls } : {}));
  }

  get socket(): Socket {
    return this.raw.socket;
  }

  /** True once the server closed the connection. */
  get closed(): boolean {
    return this.raw.closed;
  }

  /** Writes one plain value (signed with `secret` when given). */
  send(value: unknown, secret?: string): Promise<void> {
    const bytes = this.encoder.encode(value);
    return this.raw.write(secret === undefined ? bytes : signMessage(this.encoder, bytes, secret));
  }

  /** Writes a Nest request envelope. */
  sendRequest(pattern: string | Record<string, unknown>, data: unknown, meta?: Record<string, string>): Promise<void> {
    return this.send(buildEnvelope('request', pattern, data, meta));
  }

  /** Writes a Nest event envelope. */
  sendEvent(pattern: string | Record<string, unknown>, data: unknown): Promise<void> {
    return this.send(buildEnvelope('event', pattern, data));
  }

  /** Writes bytes as they are. */
  writeRaw(bytes: Bytes): Promise<void> {
    return this.raw.write(toBytes(bytes));
  }

  /** The next answer; rejects when none comes within `timeoutMs` or the server closes first. */
  async next(timeoutMs = ANSWER_WAIT_MS): Promise<unknown> {
    const deadline = Date.now() + timeoutMs;
    while (this.answers.length === 0) {
      if (this.raw.closed) throw new Error('the server closed the connection without an answer');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no answer within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.answers.shift();
  }

  /** Writes a plain value and waits for its answer. */
  async call(value: unknown, secret?: string): Promise<unknown> {
    await this.send(value, secret);
    return this.next();
  }

  /** Writes a Nest request and waits for its answer. */
  async request(pattern: string | Record<string, unknown>, data: unknown, meta?: Record<string, string>): Promise<unknown> {
    await this.sendRequest(pattern, data, meta);
    return this.next();
  }

  /** Answers received and not yet read. */
  get pending(): number {
    return this.answers.length;
  }

  destroy(): void {
    this.raw.destroy();
  }
}

/** Writes `bytes` on a new raw connection and returns the first answer. */
export async function answerTo(port: number, bytes: Uint8Array): Promise<unknown> {
  const peer = await TestPeer.connect(port);
  try {
    await peer.writeRaw(bytes);
    return await peer.next();
  } finally {
    peer.destroy();
  }
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A Nest logger that keeps every line, for tests that read the logs. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(`log ${String(message)}`);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.lines.push(`error ${String(message)} ${rest.map(String).join(' ')}`);
  }
  warn(message: unknown): void {
    this.lines.push(`warn ${String(message)}`);
  }
  debug(message: unknown): void {
    this.lines.push(`debug ${String(message)}`);
  }
  verbose(message: unknown): void {
    this.lines.push(`verbose ${String(message)}`);
  }
}
