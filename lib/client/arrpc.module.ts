import { Module } from '@nestjs/common';
import { ConfigurableModuleClass } from './arrpc.module-definition.js';

/**
 * Provides an injectable `ArrpcClient`, closed when the application shuts down.
 *
 * `ArrpcModule.forRoot({ port: 9000 })` provides it under the `ArrpcClient`
 * class; add `name: 'PRICES'` to provide it under that token instead, and
 * import the module once per server for several named clients.
 * `forRootAsync({ name, imports, useFactory, inject })` builds the options
 * from other providers (the name stays static: Nest needs tokens up front).
 */
@Module({})
export class ArrpcModule extends ConfigurableModuleClass {}
