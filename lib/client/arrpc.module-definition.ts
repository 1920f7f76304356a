import { ConfigurableModuleBuilder, type DynamicModule, type Provider } from '@nestjs/common';
import type { ArrpcClientOptions } from '../options/index.js';
import { ArrpcClient } from './arrpc-client.js';

/** What `ArrpcModule.forRoot` / `forRootAsync` take beside the client options. */
export interface ArrpcModuleExtras {
  /** Injection token of the client; defaults to the `ArrpcClient` class. One module import per name. */
  name?: string | symbol | undefined;
  /** Makes the client injectable from every module. Defaults to false. */
  isGlobal?: boolean | undefined;
}

export const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN, OPTIONS_TYPE, ASYNC_OPTIONS_TYPE } =
  new ConfigurableModuleBuilder<ArrpcClientOptions>()
    .setClassMethodName('forRoot')
    .setFactoryMethodName('createArrpcClientOptions')
    .setExtras<ArrpcModuleExtras>({ name: undefined, isGlobal: false }, (definition, { name, isGlobal }) => withClient(definition, name ?? ArrpcClient, isGlobal))
    .build();

/** Adds the client itself, built from the module's options, under `token`. */
function withClient(definition: DynamicModule, token: string | symbol | typeof ArrpcClient, isGlobal = false): DynamicModule {
  const client: Provider = { provide: token, useFactory: (options: ArrpcClientOptions) => new ArrpcClient(options), inject: [MODULE_OPTIONS_TOKEN] };
  return { ...definition, global: isGlobal, providers: [...(definition.providers ?? []), client], exports: [...(definition.exports ?? []), token] };
}
