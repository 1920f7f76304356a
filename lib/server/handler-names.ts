import type { Logger } from '@nestjs/common';
import type { MsPattern } from '@nestjs/microservices';
import type { PatternMethod } from '../metrics/handler-name-explorer.js';

/**
 * The metrics' `handler_func` of each route: the method name `ArrpcMetricsModule` tells the
 * server at module init, or the route itself where none is known, with a warning saying why.
 */
export class HandlerNames {
  /** `handler_func` by route; undefined until names are learnt. */
  private names: ReadonlyMap<string, string> | undefined;
  /** Routes already warned about having no method name ('' once none could be: no names learnt). */
  private readonly unnamedRoutes = new Set<string>();

  constructor(private readonly logger: Logger) {}

  /**
   * Keys `methods` as `addHandler` keys their patterns (`normalize`), keeping those for
   * `transportId` or every transport; the first method of a route names it, as the first
   * `@EventPattern` listener heads Nest's chain.
   */
  learn(methods: readonly PatternMethod[], transportId: unknown, normalize: (pattern: MsPattern) => string): void {
    const names = new Map<string, string>();
    for (const { pattern, transport, name } of methods) {
      // Nest's own filter: a handler for another transport is not registered here.
      if (transport !== undefined && transport !== transportId) continue;
      const route = normalize(pattern as MsPattern);
      if (!names.has(route)) names.set(route, name);
    }
    this.names = names;
  }

  /**
   * The `handler_func` of a route with a handler: its method's name, or the route itself where
   * no method is known, so its requests stay apart from other handlers'.
   */
  of(route: string): string {
    const name = this.names?.get(route);
    if (name !== undefined) return name;
    this.warnUnnamed(route);
    return route;
  }

  /** Once while no names are learnt; then once per route no method has. */
  private warnUnnamed(route: string): void {
    const key = this.names === undefined ? '' : route;
    if (this.unnamedRoutes.has(key)) return;
    this.unnamedRoutes.add(key);
    this.logger.warn(
      key === ''
        ? `metrics: handler_func is each handler's pattern: no method names learnt (import ArrpcMetricsModule.forRoot() in the app; a hybrid app learns them at init)`
        : `metrics: handler_func is the pattern "${route}": no controller method has it (a handler added with addHandler)`,
    );
  }
}
