import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
// In your app: from 'nestjs-arrpc' and 'nestjs-arrpc/terminus'.
import { ArrpcMetricsModule, ArrpcModule } from '../lib/index.js';
import { ArrpcHealthIndicator } from '../lib/terminus/index.js';
import { clientOptions, selfClientOptions, type SampleConfig } from './config.js';
import { HealthController, SAMPLE_SELF_CLIENT } from './health.controller.js';
import { HttpController } from './http.controller.js';
import { PriceBook } from './price-book.js';
import { PricesController } from './prices.controller.js';

/**
 * The whole sample: arrpc handlers (`PricesController`), HTTP routes that call an
 * arrpc server (`HttpController`, through `ArrpcModule`'s client), `/health` and `/metrics`.
 */
@Module({})
export class AppModule {
  static forRoot(config: SampleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ArrpcModule.forRoot(clientOptions(config)),
        ArrpcModule.forRoot({ name: SAMPLE_SELF_CLIENT, ...selfClientOptions(config) }),
        ArrpcMetricsModule.forRoot(),
        TerminusModule,
      ],
      controllers: [PricesController, HttpController, HealthController],
      providers: [PriceBook, ArrpcHealthIndicator],
    };
  }
}
