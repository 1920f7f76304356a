import type { AddressInfo } from 'node:net';
import { Controller, Module, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ARRPC_DEFAULT_PATTERN } from '../constants.js';
import type { ArrpcServerOptions } from '../options/index.js';
import { ArrpcServer } from '../server/index.js';
import { ListenError, UsageError } from './exit-codes.js';

/** The handler of `nestjs-arrpc serve`: every plain message comes back as it came. */
@Controller()
export class EchoController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  echo(@Payload() message: unknown): unknown {
    return message;
  }
}

@Module({ controllers: [EchoController] })
class EchoModule {}

/** A running echo server. */
export interface EchoServer {
  /** Where it listens. */
  readonly address: AddressInfo;
  /** Drains (docs/server.md, "Closing (drain)") and stops. */
  close(): Promise<void>;
}

/**
 * Starts an `ArrpcServer` with the echo handler as a Nest microservice, quiet
 * unless `debug`: Nest logs errors only. Rejects with `UsageError` for a bad
 * option and `ListenError` when it cannot listen.
 */
export async function startEchoServer(options: ArrpcServerOptions): Promise<EchoServer> {
  let server: ArrpcServer;
  try {
    server = new ArrpcServer(options);
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message);
    throw error;
  }
  const logger: LogLevel[] = options.debug ? ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] : ['fatal', 'error'];
  const app = await NestFactory.createMicroservice(EchoModule, { strategy: server, logger, abortOnError: false });
  try {
    await app.listen();
  } catch (error) {
    await app.close().catch(() => undefined);
    throw new ListenError((error as Error).message);
  }
  return { address: server.unwrap().address() as AddressInfo, close: () => app.close() };
}
