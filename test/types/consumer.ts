// A strict consumer of the client API, compiled by `tsc -p tsconfig.json --noEmit` (the first step
// of `npm test`); vitest strips types without checking them. In Nest 12.1 `customClass: ClientTCP`
// itself fails this check (STYLE.md section 4): `customClass: ArrpcClient` must not.
import { Inject, Injectable, Module } from '@nestjs/common';
import { ClientProxyFactory, ClientsModule, type ClientProxy } from '@nestjs/microservices';
import { lookup } from 'node:dns';
import { firstValueFrom } from 'rxjs';
import {
  ArrpcClient,
  ArrpcErrorCode,
  ArrpcException,
  ArrpcModule,
  ArrpcStatus,
  type ArrpcClientOptions,
  type ArrpcEndpointDownReason,
  type ArrpcEndpointUpReason,
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
  client.on('endpoint-up', (endpoint: string, reason: ArrpcEndpointUpReason) => void [endpoint, reason]);
  client.on('endpoint-down', (endpoint: string, reason: ArrpcEndpointDownReason, error?: Error) => void [endpoint, reason, error]);
  void pool.endpoints.filter((endpoint) => endpoint.state === 'ejected').map((endpoint) => endpoint.load);
  // @ts-expect-error: not an event of ArrpcClient
  client.on('message', () => {});
  // @ts-expect-error: not a peer kind
  void new ArrpcClient({ port: 9000, peer: 'java' });
  // @ts-expect-error: not a balance
  void new ArrpcClient({ endpoints: ['a:1'], balance: 'random' });
}

/** Several servers, and DNS discovery with Node's own lookup (its signature is the option's). */
export const replicas: ArrpcClientOptions[] = [
  { endpoints: ['10.0.0.5:4000', 'prices-1.internal:4000'], peer: 'nestjs-arrpc', pipeline: 8, idempotentPatterns: ['prices.get'] },
  { host: 'prices-headless', port: 4000, resolve: 'dns', lookup, resolveIntervalMs: 10_000, balance: 'round-robin' },
  { host: 'legacy', port: 8080, probe: { message: { cmd: 'ping' }, expect: 'pong' }, retryBudget: { ratio: 0.1 }, maxConnectionAgeMs: 300_000 },
];
export const replicaModule = ArrpcModule.forRoot({ endpoints: ['a:1', 'b:2'], ejectAfterFailures: 5, ejectionBackoffMs: 500 });
