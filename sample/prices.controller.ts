import { Controller, Logger } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
// In your app: from 'nestjs-arrpc'.
import { ARRPC_DEFAULT_PATTERN, type ArrpcContext } from '../lib/index.js';
import { isPrice, PriceBook, type Price } from './price-book.js';

/** The arrpc side: what Python clients and ArrpcClients call. */
@Controller()
export class PricesController {
  private readonly logger = new Logger(PricesController.name);

  constructor(private readonly book: PriceBook) {}

  /** What a Python `arrpc.Client` sends: `client.send({"sku": "apple"})`. */
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  lookup(@Payload() message: unknown): Price {
    const sku = typeof message === 'object' && message !== null ? (message as { sku?: unknown }).sku : undefined;
    if (typeof sku !== 'string') throw new RpcException('expected a map like {"sku": "apple"}');
    return this.get(sku);
  }

  /** A named pattern: `client.call('prices.get', 'apple')`. Python gets `RpcException` for an unknown SKU. */
  @MessagePattern('prices.get')
  get(@Payload() sku: unknown): Price {
    const price = typeof sku === 'string' ? this.book.get(sku) : undefined;
    if (!price) throw new RpcException(`no price for ${JSON.stringify(sku)}`);
    return price;
  }

  @MessagePattern('prices.list')
  list(): Price[] {
    return this.book.list();
  }

  /** An event: acknowledged with nil as soon as it is dispatched; there is no answer to refuse with. */
  @EventPattern<string>('price.updated')
  updated(@Payload() update: unknown, @Ctx() ctx: ArrpcContext): void {
    if (!isPrice(update)) {
      this.logger.warn(`price.updated from ${ctx.getRemoteAddress()} is not {sku, price}; ignored`);
      return;
    }
    this.book.set(update);
  }
}
