// ArrpcServer in a Nest microservice with one echo handler on the default pattern. Decorators are
// applied as plain function calls so the script runs without a build step. Environment:
// BENCH_TLS_CERT/BENCH_TLS_KEY (TLS), BENCH_SECRET (auth), BENCH_METRICS=1 (metrics on),
// BENCH_MAX_CONNECTIONS and BENCH_IDLE_TIMEOUT_MS (the options of those names; defaults when unset),
// BENCH_ADD_HANDLER=1 (the echo added with addHandler instead of a controller: no Nest pipeline of
// guards, pipes and interceptors around it, to tell its cost from the transport's), BENCH_SLOW=1
// (see echo.mjs).
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { ARRPC_DEFAULT_PATTERN, ArrpcMetricsModule, ArrpcServer } from '../../dist/lib/index.js';
import { handler } from './echo.mjs';

class EchoController {}
EchoController.prototype.echo = handler;
MessagePattern(ARRPC_DEFAULT_PATTERN)(EchoController.prototype, 'echo', Object.getOwnPropertyDescriptor(EchoController.prototype, 'echo'));
Controller()(EchoController);

const env = process.env;
class BenchModule {}
// With metrics, ArrpcMetricsModule names the handler in handler_func, as in an app.
Module({
  imports: env.BENCH_METRICS ? [ArrpcMetricsModule.forRoot({ defaultMetrics: false })] : [],
  controllers: env.BENCH_ADD_HANDLER ? [] : [EchoController],
})(BenchModule);

const strategy = new ArrpcServer({
  port: 0,
  ...(env.BENCH_TLS_CERT ? { tlsCertFile: env.BENCH_TLS_CERT, tlsKeyFile: env.BENCH_TLS_KEY } : {}),
  ...(env.BENCH_SECRET ? { authSecret: env.BENCH_SECRET } : {}),
  ...(env.BENCH_METRICS ? { metrics: true } : {}),
  ...(env.BENCH_MAX_CONNECTIONS ? { maxConnections: Number(env.BENCH_MAX_CONNECTIONS) } : {}),
  ...(env.BENCH_IDLE_TIMEOUT_MS ? { idleTimeoutMs: Number(env.BENCH_IDLE_TIMEOUT_MS) } : {}),
});
if (env.BENCH_ADD_HANDLER) strategy.addHandler(ARRPC_DEFAULT_PATTERN, async (message) => handler(message));
const app = await NestFactory.createMicroservice(BenchModule, { strategy, logger: ['error', 'warn'] });
await app.listen();
console.log(JSON.stringify({ port: strategy.unwrap().address().port }));
// Exit normally on a signal, so `node --cpu-prof` writes its profile.
process.once('SIGINT', () => process.exit(0));
