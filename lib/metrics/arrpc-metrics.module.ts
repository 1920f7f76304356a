import { Controller, Get, Module, Res, type DynamicModule, type Type } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { PrometheusController, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register, type Registry } from 'prom-client';
import { ARRPC_METRICS_PATH, ARRPC_METRICS_REGISTRY } from '../constants.js';
import { optionChecks } from '../options/option-checks.js';
import { HandlerNameExplorer } from './handler-name-explorer.js';

/** Options of {@link ArrpcMetricsModule.forRoot}. */
export interface ArrpcMetricsModuleOptions {
  /**
   * The registry served. Defaults to prom-client's global `register`, which is also where
   * `ArrpcServer` and `ArrpcClient` record by default: give both the same one if you change it.
   */
  readonly registry?: Registry | undefined;
  /** Route of the endpoint. Defaults to `ARRPC_METRICS_PATH` (`/metrics`). */
  readonly path?: string | undefined;
  /**
   * Collect prom-client's default process metrics into the registry, as `PrometheusModule` does
   * (once per registry: a registry that has them already is left as it is). Defaults to `true`.
   */
  readonly defaultMetrics?: boolean | undefined;
  /** Make the `ARRPC_METRICS_REGISTRY` provider visible to every module. Defaults to `false`. */
  readonly isGlobal?: boolean | undefined;
}

const check = optionChecks('ArrpcMetricsModule');
const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof ArrpcMetricsModuleOptions>(['registry', 'path', 'defaultMetrics', 'isGlobal']);

/** One of the metrics prom-client's `collectDefaultMetrics` registers. */
const DEFAULT_METRICS_PROBE = 'process_cpu_user_seconds_total';

/** What Express and Fastify responses both have. */
interface HeaderSetter {
  header(name: string, value: string): unknown;
}

/**
 * The Nest module of the arrpc metrics: it registers `@willsoto/nestjs-prometheus`'s
 * `PrometheusModule`, whose `/metrics` endpoint then serves (in a hybrid app) the registry the
 * arrpc servers and clients record into, and provides that registry under `ARRPC_METRICS_REGISTRY`.
 * It also tells every `ArrpcServer` of the app its handlers' method names at module init, which
 * its `handler_func` label shows: import it in a pure microservice too. Without it,
 * `handler_func` is the handler's pattern.
 *
 * No `forRootAsync`: Nest reads a route's path when the module is defined, and the registry is an
 * object built in code, so there is nothing to wait for.
 */
@Module({})
export class ArrpcMetricsModule {
  /** Checks `options` at once; a bad one throws a `TypeError` naming it. */
  static forRoot(options: ArrpcMetricsModuleOptions = {}): DynamicModule {
    const given = check.knownKeys(options, KNOWN_OPTIONS);
    const registry = check.registry('registry', given.registry ?? register);
    // prom-client throws when default metrics are collected twice into one registry, as a second
    // app in the same process (a test suite, say) would do.
    const collect =
      check.boolean('defaultMetrics', given.defaultMetrics ?? true) && registry.getSingleMetric(DEFAULT_METRICS_PROBE) === undefined;
    const prometheus = PrometheusModule.register({
      path: check.text('path', given.path ?? ARRPC_METRICS_PATH),
      controller: createMetricsController(registry),
      defaultMetrics: { enabled: collect, config: { register: registry } },
    });
    return {
      module: ArrpcMetricsModule,
      global: check.boolean('isGlobal', given.isGlobal ?? false),
      imports: [prometheus, DiscoveryModule],
      providers: [{ provide: ARRPC_METRICS_REGISTRY, useValue: registry }, HandlerNameExplorer],
      exports: [ARRPC_METRICS_REGISTRY],
    };
  }
}

/**
 * `PrometheusController` serves the global registry only; this one serves `registry`. A class per
 * call, because `PrometheusModule` writes the route path onto the controller class itself.
 */
function createMetricsController(registry: Registry): Type<PrometheusController> {
  @Controller()
  class ArrpcMetricsController extends PrometheusController {
    @Get()
    override async index(@Res({ passthrough: true }) response: HeaderSetter): Promise<string> {
      response.header('Content-Type', registry.contentType);
      return registry.metrics();
    }
  }
  return ArrpcMetricsController;
}
