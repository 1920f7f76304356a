// Shared pieces of the operations suite: a Nest HTTP app whose /health runs ArrpcHealthIndicator
// through TerminusModule, and a TCP server that accepts connections and never answers.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import type { ArrpcClient } from '../../../lib/index.js';
import { ArrpcHealthIndicator, type ArrpcPingCheckOptions } from '../../../lib/terminus/index.js';
import { freeServerClose, listen } from '../../support/sockets.js';

const CHECKED_CLIENT = Symbol('checked client');
const CHECK_OPTIONS = Symbol('check options');

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly arrpc: ArrpcHealthIndicator,
    @Inject(CHECKED_CLIENT) private readonly client: ArrpcClient,
    @Inject(CHECK_OPTIONS) private readonly options: ArrpcPingCheckOptions,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.arrpc.pingCheck('backend', this.client, this.options)]);
  }
}

/** What GET /health answered. */
export interface HealthResponse {
  readonly httpStatus: number;
  readonly body: {
    status: string;
    details: Record<string, { status: string; message?: string; endpoints?: Record<string, any> }>;
  };
}

/** A running HTTP app with TerminusModule and ArrpcHealthIndicator behind GET /health. */
export interface HealthApp {
  readonly app: INestApplication;
  readonly indicator: ArrpcHealthIndicator;
  health(): Promise<HealthResponse>;
  close(): Promise<void>;
}

/** Starts the HTTP app on 127.0.0.1, port 0, checking `client` with `options`. */
export async function startHealthApp(client: ArrpcClient, options: ArrpcPingCheckOptions = {}): Promise<HealthApp> {
  @Module({
    imports: [TerminusModule.forRoot({ logger: false })],
    controllers: [HealthController],
    providers: [ArrpcHealthIndicator, { provide: CHECKED_CLIENT, useValue: client }, { provide: CHECK_OPTIONS, useValue: options }],
  })
  class HealthModule {}

  const app = await NestFactory.create(HealthModule, { logger: false, forceCloseConnections: true });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    indicator: app.get(ArrpcHealthIndicator),
    async health() {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      return { httpStatus: response.status, body: (await response.json()) as HealthResponse['body'] };
    },
    close: () => app.close(),
  };
}

/** A TCP server on 127.0.0.1 that accepts every connection, reads, and never answers. */
export async function startSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.resume();
  });
  const port = await listen(server);
  return { port, close: () => freeServerClose(server, sockets) };
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
