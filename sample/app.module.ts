import { Module, type DynamicModule } from '@nestjs/common';
// In your app: from 'nestjs-arrpc'.
import { ArrpcMetricsModule, ArrpcModule } from '../lib/index.js';
import { clientOptions, type SampleConfig } from './config.js';
import { HttpController } from './http.controller.js';
import { PriceBook } from './price-book.js';
import { PricesController } from './prices.controller.js';

/**
 * The whole sample: arrpc handlers (`PricesController`), HTTP routes that call an
 * arrpc server (`HttpController`, through `ArrpcModule`'s client) and `/metrics`.
 */
@Module({})
export class AppModule {
  static forRoot(config: SampleConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [ArrpcModule.forRoot(clientOptions(config)), ArrpcMetricsModule.forRoot()],
      controllers: [PricesController, HttpController],
      providers: [PriceBook],
    };
  }
}
