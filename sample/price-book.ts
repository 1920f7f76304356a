import { Injectable } from '@nestjs/common';

/** One price: what the handlers answer and `price.updated` carries. */
export interface Price {
  readonly sku: string;
  readonly price: number;
}

/** True for `{ sku: string, price: number }`. */
export function isPrice(value: unknown): value is Price {
  const candidate = value as Partial<Price> | null;
  return typeof candidate === 'object' && candidate !== null && typeof candidate.sku === 'string' && typeof candidate.price === 'number';
}

/** The sample's data: prices in memory, as a real app would keep them in a database. */
@Injectable()
export class PriceBook {
  // Whole-valued floats (2.0) would reach Python as ints (docs/wire.md, "Values"): these are not whole.
  private readonly prices = new Map<string, number>([
    ['apple', 1.25],
    ['banana', 0.5],
    ['cherry', 4.75],
  ]);

  get(sku: string): Price | undefined {
    const price = this.prices.get(sku);
    return price === undefined ? undefined : { sku, price };
  }

  list(): Price[] {
    return [...this.prices].map(([sku, price]) => ({ sku, price }));
  }

  set({ sku, price }: Price): void {
    this.prices.set(sku, price);
  }
}
