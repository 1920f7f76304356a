// A throwaway app for test/package/install.spec.ts, compiled there by tsc as CommonJS and as ESM
// against the packed and installed nestjs-arrpc (the root tsconfig.json leaves this folder out: it
// imports the package by name). It starts a Nest microservice on ArrpcServer, calls it and the
// Python-style server whose port is its first argument with ArrpcClient, prints one JSON line of
// the answers and exits 0. No top-level await: a CommonJS module cannot have one.
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { ARRPC_DEFAULT_PATTERN, ArrpcClient, ArrpcServer } from 'nestjs-arrpc';
import { ArrpcHealthIndicator } from 'nestjs-arrpc/terminus';

@Controller()
class GreetController {
  @MessagePattern('greet')
  greet(@Payload() name: string): string {
    return `hello ${name}`;
  }
}

@Module({ controllers: [GreetController] })
class AppModule {}

async function main(pythonPort: number): Promise<void> {
  const server = new ArrpcServer({ host: '127.0.0.1', port: 0 });
  const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
  await app.listen();
  const { port } = server.unwrap().address() as AddressInfo;
  const nest = new ArrpcClient({ port, peer: 'nestjs-arrpc', timeout: 10_000 });
  const python = new ArrpcClient({ port: pythonPort, timeout: 10_000 });
  try {
    const fromNest = await nest.call('greet', 'nest');
    // The default pattern writes the message raw, as a Python arrpc.Client does.
    const fromPython = await python.call(ARRPC_DEFAULT_PATTERN, { return: ['python', 1] });
    console.log(JSON.stringify({ fromNest, fromPython, terminus: typeof ArrpcHealthIndicator }));
  } finally {
    await Promise.all([nest.close(), python.close()]);
    await app.close();
  }
}

main(Number(process.argv[2])).catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
