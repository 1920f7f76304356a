// A consumer compiled with `exactOptionalPropertyTypes` (by `tsc -p test/types/tsconfig.exact-optional.json`,
// a step of `npm test`), as many strict apps are. There, `foo?: string` refuses `undefined`: every
// optional option of the public API says `| undefined`, so a value read from the environment passes
// straight in, and the resolvers take `undefined` as left out (test/unit/options/undefined-options.spec.ts).
import { Module } from '@nestjs/common';
import {
  ArrpcClient,
  ArrpcMetricsModule,
  ArrpcModule,
  ArrpcServer,
  type ArrpcCallOptions,
  type ArrpcClientOptions,
  type ArrpcMetricsHistogramOptions,
  type ArrpcMetricsModuleOptions,
  type ArrpcMetricsOptions,
  type ArrpcModuleExtras,
  type ArrpcProbe,
  type ArrpcRetryBudget,
  type ArrpcServerOptions,
  type DecoderLimits,
  type EncoderOptions,
  type MetricsServerOptions,
} from '../../lib/index.js';
import type { ArrpcPingCheckOptions } from '../../lib/terminus/index.js';

/**
 * The optional properties of `T` that refuse `undefined`, for each member of the union `T`.
 * `T[K]` would not do: reading an optional property adds `undefined` even under
 * `exactOptionalPropertyTypes`; `Required` strips that and keeps a written `| undefined`.
 */
type RefusingUndefined<T> = T extends unknown
  ? { [K in keyof T]-?: {} extends Pick<T, K> ? (undefined extends Required<Pick<T, K>>[K] ? never : K) : never }[keyof T]
  : never;
/** `true` when no property refuses `undefined`; else the names of those that do, which `true` is not. */
type TakeUndefinedEverywhere<T> = [RefusingUndefined<T>] extends [never] ? true : RefusingUndefined<T>;

// Fails to compile, naming the property, if an optional option lacks `| undefined`.
export const everyOptionTakesUndefined: TakeUndefinedEverywhere<
  | ArrpcServerOptions
  | ArrpcClientOptions
  | ArrpcRetryBudget
  | ArrpcProbe
  | ArrpcMetricsHistogramOptions
  | ArrpcMetricsOptions
  | ArrpcMetricsModuleOptions
  | MetricsServerOptions
  | ArrpcCallOptions
  | ArrpcModuleExtras
  | ArrpcPingCheckOptions
  | DecoderLimits
  | EncoderOptions
> = true;

const env = process.env;
const port = (name: string): number | undefined => (env[name] === undefined ? undefined : Number(env[name]));

export const server = new ArrpcServer({
  host: env['ARRPC_HOST'],
  port: port('ARRPC_PORT'),
  authSecret: env['ARRPC_SECRET'],
  tlsCertFile: env['ARRPC_TLS_CERT'],
  tlsKeyFile: env['ARRPC_TLS_KEY'],
  metrics: env['ARRPC_METRICS'] === undefined ? undefined : env['ARRPC_METRICS'] === '1',
  metricsPort: port('ARRPC_METRICS_PORT'),
});

export const client = new ArrpcClient({
  host: env['UPSTREAM_HOST'],
  port: port('UPSTREAM_PORT') ?? 9000,
  authSecret: env['ARRPC_SECRET'],
  tlsCaFile: env['UPSTREAM_CA'],
  retryBudget: { ratio: undefined, windowMs: port('RETRY_WINDOW_MS') },
  probe: { message: 'ping', expect: undefined },
});

export function price(sku: string, signal?: AbortSignal): Promise<number> {
  return client.call<number>('price', sku, { timeoutMs: port('PRICE_TIMEOUT_MS'), signal });
}

@Module({
  imports: [
    ArrpcMetricsModule.forRoot({ path: env['METRICS_PATH'], defaultMetrics: undefined }),
    ArrpcModule.forRoot({ name: env['CLIENT_TOKEN'], port: 9000, authSecret: env['ARRPC_SECRET'] }),
  ],
})
export class ExactOptionalModule {}
