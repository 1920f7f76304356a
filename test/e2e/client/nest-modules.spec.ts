// ArrpcClient injected in a real Nest application: through ClientsModule (register and
// registerAsync, customClass) and through ArrpcModule (forRoot, forRootAsync, named clients),
// and closed when the application shuts down.
import { Controller, Inject, Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, MessagePattern, Payload, type ClientProxy } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrpcClient, ArrpcModule, ClientClosedException, type ArrpcClientOptions, type ConnectionPool } from '../../../lib/index.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { errorOf, useCleanup } from './helpers.js';

@Controller()
class PricesController {
  @MessagePattern('price')
  price(@Payload() sku: string): unknown {
    return { sku, price: 42 };
  }
}

const CONFIG = Symbol('CONFIG');

/** Stands for a configuration service a factory reads. */
@Module({ providers: [{ provide: CONFIG, useFactory: () => ({ port: servers[1]!.port }) }], exports: [CONFIG] })
class ConfigModule {}

let servers: TestServer[] = [];
beforeAll(async () => {
  servers = await Promise.all([startServer([PricesController]), startServer([PricesController])]);
});
afterAll(() => Promise.all(servers.map((server) => server.close())));

const track = useCleanup();

/** Boots `module` as an application context (no HTTP), closed after the test. */
async function boot(module: object): Promise<INestApplicationContext> {
  return track(await NestFactory.createApplicationContext(module as never, { logger: false, abortOnError: false }));
}

/** The client options every test uses, for `server`. */
const optionsFor = (server: TestServer): ArrpcClientOptions => ({ port: server.port, timeout: 2000 });

/** Expects `client` to work, then `app.close()` to close it. */
async function expectWorksAndClosesWith(app: INestApplicationContext, client: ClientProxy): Promise<void> {
  expect(client).toBeInstanceOf(ArrpcClient);
  expect(await lastValueFrom(client.send('price', 'A-1'))).toEqual({ sku: 'A-1', price: 42 });
  await app.close();
  expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(0);
  expect(await errorOf(lastValueFrom(client.send('price', 'A-2')))).toBeInstanceOf(ClientClosedException);
}

describe('ClientsModule with customClass: ArrpcClient', () => {
  it('register() provides the client under its name', async () => {
    @Injectable()
    class Prices {
      constructor(@Inject('PRICES') readonly client: ClientProxy) {}
    }
    @Module({
      imports: [ClientsModule.register([{ name: 'PRICES', customClass: ArrpcClient, options: optionsFor(servers[0]!) }])],
      providers: [Prices],
    })
    class AppModule {}
    const app = await boot(AppModule);
    await expectWorksAndClosesWith(app, app.get(Prices).client);
  });

  it('registerAsync() builds it from injected configuration', async () => {
    @Module({
      imports: [
        ClientsModule.registerAsync([
          {
            name: 'PRICES',
            imports: [ConfigModule],
            inject: [CONFIG],
            useFactory: (config: ArrpcClientOptions) => ({ customClass: ArrpcClient, options: { ...config, timeout: 2000 } }),
          },
        ]),
      ],
    })
    class AppModule {}
    const app = await boot(AppModule);
    const client = app.get<ArrpcClient>('PRICES');
    expect(client.unwrap<ConnectionPool>().endpoints[0]!.port).toBe(servers[1]!.port);
    await expectWorksAndClosesWith(app, client);
  });
});

describe('ArrpcModule', () => {
  it('forRoot() provides an injectable ArrpcClient', async () => {
    @Injectable()
    class Prices {
      constructor(readonly client: ArrpcClient) {}
    }
    @Module({ imports: [ArrpcModule.forRoot(optionsFor(servers[0]!))], providers: [Prices] })
    class AppModule {}
    const app = await boot(AppModule);
    await expectWorksAndClosesWith(app, app.get(Prices).client);
  });

  it('provides several named clients, one import per server', async () => {
    @Injectable()
    class Both {
      constructor(
        @Inject('EU') readonly eu: ArrpcClient,
        @Inject('US') readonly us: ArrpcClient,
      ) {}
    }
    @Module({
      imports: [
        ArrpcModule.forRoot({ name: 'EU', ...optionsFor(servers[0]!) }),
        ArrpcModule.forRoot({ name: 'US', ...optionsFor(servers[1]!) }),
      ],
      providers: [Both],
    })
    class AppModule {}
    const app = await boot(AppModule);
    const { eu, us } = app.get(Both);
    expect(eu).not.toBe(us);
    expect([eu, us].map((client) => client.unwrap<ConnectionPool>().endpoints[0]!.port)).toEqual([servers[0]!.port, servers[1]!.port]);
    expect(await us.call('price', 'U-1')).toEqual({ sku: 'U-1', price: 42 });
    await expectWorksAndClosesWith(app, eu);
    expect(us.unwrap<ConnectionPool>().sockets).toHaveLength(0);
  });

  it('forRootAsync() builds a named, global client from injected configuration', async () => {
    @Module({
      imports: [
        ArrpcModule.forRootAsync({
          name: 'PRICES',
          isGlobal: true,
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: ArrpcClientOptions) => ({ ...config, timeout: 2000 }),
        }),
      ],
    })
    class AppModule {}
    const app = await boot(AppModule);
    const client = app.get<ArrpcClient>('PRICES');
    expect(client.unwrap<ConnectionPool>().endpoints[0]!.port).toBe(servers[1]!.port);
    await expectWorksAndClosesWith(app, client);
  });

  it('forRootAsync() takes an options factory class', async () => {
    @Injectable()
    class OptionsFactory {
      createArrpcClientOptions(): ArrpcClientOptions {
        return optionsFor(servers[0]!);
      }
    }
    @Module({ imports: [ArrpcModule.forRootAsync({ useClass: OptionsFactory })] })
    class AppModule {}
    const app = await boot(AppModule);
    await expectWorksAndClosesWith(app, app.get(ArrpcClient));
  });
});
