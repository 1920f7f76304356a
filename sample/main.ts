// Placeholder until ArrpcServer exists: it boots a Nest application context (no transport yet),
// logs one line and closes, so `npm start` proves the lib + sample build and Nest's DI run.
import 'reflect-metadata';
import { Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

@Module({})
class SampleModule {}

async function bootstrap(): Promise<void> {
  const app = await NestFactory.createApplicationContext(SampleModule, { logger: ['error', 'warn', 'log'] });
  new Logger('Sample').log('nestjs-arrpc sample placeholder');
  await app.close();
}

await bootstrap();
