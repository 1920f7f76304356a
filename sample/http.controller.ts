import { BadRequestException, Body, Controller, Get, HttpCode, NotFoundException, Param, Post, Put, UseFilters } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
// In your app: from 'nestjs-arrpc'.
import { ARRPC_DEFAULT_PATTERN, ArrpcClient, ArrpcHttpExceptionFilter, RemoteRpcException } from '../lib/index.js';
import type { Price } from './price-book.js';

/**
 * The HTTP side: each route calls the upstream arrpc server (`ARRPC_UPSTREAM`, else this
 * sample's own arrpc port) through the `ArrpcClient` that `ArrpcModule.forRoot` provides.
 * A failed call answers 502, 503 or 504 (`ArrpcHttpExceptionFilter`).
 */
@Controller()
@UseFilters(ArrpcHttpExceptionFilter)
export class HttpController {
  constructor(private readonly upstream: ArrpcClient) {}

  /** GET /prices: the `prices.list` pattern. */
  @Get('prices')
  list(): Promise<Price[]> {
    return this.upstream.call<Price[]>('prices.list', null);
  }

  /** GET /prices/:sku: the `prices.get` pattern; the handler's RpcException becomes a 404. */
  @Get('prices/:sku')
  async get(@Param('sku') sku: string): Promise<Price> {
    try {
      return await this.upstream.call<Price>('prices.get', sku);
    } catch (error) {
      if (error instanceof RemoteRpcException) throw new NotFoundException(error.message);
      throw error;
    }
  }

  /** PUT /prices/:sku with `{"price": 2.5}`: the `price.updated` event. */
  @Put('prices/:sku')
  async update(@Param('sku') sku: string, @Body() body: { price?: unknown }): Promise<Price> {
    const price = body?.price;
    if (typeof price !== 'number') throw new BadRequestException('expected a JSON body like {"price": 2.5}');
    await firstValueFrom(this.upstream.emit('price.updated', { sku, price }));
    return { sku, price };
  }

  /**
   * POST /arrpc with any JSON body: sent raw to the default pattern, as a Python
   * `arrpc.Client` sends it, so a Python `arrpc.Server` upstream receives it as is.
   */
  @Post('arrpc')
  @HttpCode(200)
  async raw(@Body() message: unknown): Promise<{ answer: unknown }> {
    return { answer: await this.upstream.call(ARRPC_DEFAULT_PATTERN, message) };
  }
}
