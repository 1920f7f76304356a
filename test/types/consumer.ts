// A strict consumer of the client API, compiled by `tsc -p tsconfig.json --noEmit` (the first step
// of `npm test`); vitest strips types without checking them. In Nest 12.1 `customClass: ClientTCP`
// itself fails this check (STYLE.md section 4): `customClass: ArrpcClient` must not.
import { Inject, Injectable, Module } from '@nestjs/common';
import { ClientProxyFactory, ClientsModule, type ClientProxy } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import {
  ArrpcClient,
  ArrpcErrorCode,
  ArrpcException,
  ArrpcModule,
  ArrpcStatus,
  type ArrpcClientOptions,
  type ConnectionPool,
} from '../../lib/index.js';

const options: ArrpcClientOptions = { host: '127.0.0.1', port: 9000, timeout: 5000, peer: 'python' };

export const registered = ClientsModule.register([{ name: 'PRICES', customClass: ArrpcClient, options }]);

export const registeredAsync = ClientsModule.registerAsync({
  clients: [{ name: 'PRICES', useFactory: () => ({ customClass: ArrpcClient, options }) }],
  isGlobal: true,
});

export const created: ClientProxy = ClientProxyFactory.create({ customClass: ArrpcClient, options });

@Injectable()
export class PriceService {
  constructor(
    @Inject('PRICES') private readonly prices: ClientProxy,
    private readonly arrpc: ArrpcClient,
  ) {}

  async price(sku: string): Promise<number> {
    return firstValueFrom(this.prices.send<number, string>('price', sku));
  }

  async priceOr(sku: string, fallback: number): Promise<number> {
    try {
      return await this.arrpc.call<number>('price', sku, { timeoutMs: 200, signal: AbortSignal.timeout(500) });
    } catch (error) {
      if (error instanceof ArrpcException && error.code === ArrpcErrorCode.Timeout) return fallback;
      throw error;
    }
  }
}

@Module({
  imports: [
    ClientsModule.register([{ name: 'PRICES', customClass: ArrpcClient, options }]),
    ArrpcModule.forRoot({ port: 9000 }),
    ArrpcModule.forRoot({ name: 'EU', port: 9001, peer: 'nestjs-arrpc', pipeline: 8 }),
    ArrpcModule.forRootAsync({ name: 'US', isGlobal: true, useFactory: async () => ({ port: 9002 }) }),
  ],
  providers: [PriceService],
})
export class ConsumerModule {}

export function observe(client: ArrpcClient): void {
  client.on('retry', (endpoint: string, attempt: number, delayMs: number, error: Error) => {
    void [endpoint, attempt, delayMs, error];
  });
  client.on('disconnect', (endpoint: string, error?: Error) => void [endpoint, error]);
  client.status.subscribe((status: ArrpcStatus) => void (status === ArrpcStatus.Connected));
  const pool: ConnectionPool = client.unwrap();
  void pool.endpoints.map((endpoint) => `${endpoint.address} ${endpoint.connections.length}`);
  // @ts-expect-error: not an event of ArrpcClient
  client.on('message', () => {});
  // @ts-expect-error: not a peer kind
  void new ArrpcClient({ port: 9000, peer: 'java' });
}
