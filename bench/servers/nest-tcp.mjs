// Nest's own TCP transport with the same echo handler as servers/arrpc.mjs, for comparison.
// Decorators are applied as plain function calls so the script runs without a build step.
// BENCH_SLOW=1: see echo.mjs.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Transport } from '@nestjs/microservices';
import { handler } from './echo.mjs';

class EchoController {}
EchoController.prototype.echo = handler;
MessagePattern('echo')(EchoController.prototype, 'echo', Object.getOwnPropertyDescriptor(EchoController.prototype, 'echo'));
Controller()(EchoController);

class BenchModule {}
Module({ controllers: [EchoController] })(BenchModule);

const app = await NestFactory.createMicroservice(BenchModule, {
  transport: Transport.TCP,
  options: { host: '127.0.0.1', port: 0 },
  // Nest logs every connection the load generator resets at the end as an InvalidTcpDataReception
  // error with its stack; the generator counts real errors itself.
  logger: false,
});
await app.listen();
console.log(JSON.stringify({ port: app.unwrap().address().port }));
// Exit normally on a signal, so `node --cpu-prof` writes its profile.
process.once('SIGINT', () => process.exit(0));
