// The sample: one Nest app that is an arrpc server (for Python clients and ArrpcClients) and an
// HTTP server whose routes call an arrpc server. `npm start` builds and runs it; docs/sample.md.
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
// In your app: from 'nestjs-arrpc'.
import { ArrpcClient, ArrpcServer } from '../lib/index.js';
import { ArrpcHealthIndicator } from '../lib/terminus/index.js';
import { AppModule } from './app.module.js';
import { readSampleConfig, serverOptions, type SampleConfig } from './config.js';

async function main(): Promise<void> {
  const config = await readSampleConfig(process.env);
  const logger: LogLevel[] = config.debug ? ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] : ['fatal', 'error', 'warn', 'log'];
  const app = await NestFactory.create(AppModule.forRoot(config), { logger, abortOnError: false });
  const arrpc = new ArrpcServer(serverOptions(config));
  app.connectMicroservice({ strategy: arrpc }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  await app.listen(config.httpPort, config.host);
  stopOnSignal(app, arrpc);
  // One line a script (or the e2e test) can read the ports from.
  console.log(readyLine(config, arrpc.unwrap().address() as AddressInfo, app.getHttpServer().address() as AddressInfo));
}

function readyLine(config: SampleConfig, arrpc: AddressInfo, http: AddressInfo): string {
  const { upstream } = config;
  return [
    'nestjs-arrpc sample ready:',
    `arrpc=${arrpc.address}:${arrpc.port}`,
    `http=${http.address}:${http.port}`,
    `upstream=${upstream.host}:${upstream.port}`,
    `tls=${config.tlsCertFile === undefined ? 'off' : 'on'}`,
    `auth=${config.authSecret === undefined ? 'off' : 'on'}`,
  ].join(' ');
}

/**
 * On SIGINT or SIGTERM: drain the arrpc side while every provider still runs, then close the
 * app (docs/server.md, "Closing (drain)"). `app.close()` alone would close the client and the
 * health checks' connection only after the drain, and their open connections to this very
 * server would hold the drain to its deadline. A second signal exits at once.
 */
function stopOnSignal(app: INestApplication, arrpc: ArrpcServer): void {
  const stop = async (): Promise<void> => {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    process.once('SIGINT', () => process.exit(130)).once('SIGTERM', () => process.exit(130));
    try {
      await app.getHttpAdapter().close(); // no new HTTP requests; those running finish
      const drained = arrpc.close(); // stops listening; answers what already arrived
      await app.get(ArrpcClient).close();
      app.get(ArrpcHealthIndicator).onApplicationShutdown(); // its idle connection to this server
      await drained;
      await app.close(); // the rest: shutdown hooks; arrpc and HTTP are closed already
      console.log('nestjs-arrpc sample stopped');
    } catch (error) {
      console.error(`${(error as Error).name}: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
}

try {
  await main();
} catch (error) {
  // A bad environment variable or a port in use: one line, no stack trace.
  console.error(`${(error as Error).name}: ${(error as Error).message}`);
  process.exit(1);
}
