// One replica of an arrpc service, as a child process the many-servers tests can SIGKILL and
// restart: an ArrpcServer (built library, dist/lib) whose 'work' handler waits `ms` and answers
// the replica's name. Plain JS with decorators applied as calls, like bench/servers/arrpc.mjs,
// so it runs with `node` alone once `tsc` has built dist/lib.
// Environment: REPLICA_NAME, REPLICA_HOST (default 127.0.0.1), REPLICA_PORT (default 0).
// Prints one JSON line, {"name","host","port"}, once listening.
import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { ArrpcServer } from '../../dist/lib/index.js';

const name = process.env.REPLICA_NAME ?? 'replica';
const host = process.env.REPLICA_HOST ?? '127.0.0.1';
const port = Number(process.env.REPLICA_PORT ?? 0);

class ReplicaController {
  async work(ms) {
    await new Promise((resolve) => setTimeout(resolve, typeof ms === 'number' ? ms : 0));
    return name;
  }
}
MessagePattern('work')(ReplicaController.prototype, 'work', Object.getOwnPropertyDescriptor(ReplicaController.prototype, 'work'));
Controller()(ReplicaController);

class ReplicaModule {}
Module({ controllers: [ReplicaController] })(ReplicaModule);

const strategy = new ArrpcServer({ host, port });
const app = await NestFactory.createMicroservice(ReplicaModule, { strategy, logger: ['error'] });
await app.listen();
console.log(JSON.stringify({ name, host, port: strategy.unwrap().address().port }));
