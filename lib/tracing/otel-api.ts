import { createRequire } from 'node:module';
import type * as OtelApi from '@opentelemetry/api';
import type { ProxyTracerProvider, Tracer } from '@opentelemetry/api';

/** `@opentelemetry/api` as loaded: its CommonJS build, whatever copy the application resolves. */
export type Otel = typeof OtelApi;

/** The instrumentation scope our spans are created under. */
const TRACER_NAME = 'nestjs-arrpc';

/** Not tried yet: `undefined`; not installed: `null`. */
let otel: Otel | null | undefined;
/**
 * The API's trace singleton, read once: `api.trace` is a re-export getter in the CommonJS build,
 * and {@link activeTracer} runs for every message a server serves.
 */
let traceApi: Otel['trace'] | undefined;

/**
 * `@opentelemetry/api`, loaded on first use (an optional peer dependency: without it nothing is
 * loaded and nothing traced). Its CommonJS build is required on purpose: the API keeps its
 * providers in a global registry keyed by major version, so the copy an ESM application imported
 * and this one see the same tracer provider, propagator and context manager.
 */
function loadOtel(): Otel | null {
  if (otel === undefined) {
    try {
      otel = createRequire(import.meta.url)('@opentelemetry/api') as Otel;
      traceApi = otel.trace;
    } catch {
      otel = null;
    }
  }
  return otel;
}

/**
 * The tracer to start a call's span with, or `undefined` when nothing would record it: the API is
 * not installed, or no tracer provider is registered. Checked per call, so a provider registered
 * later (or replaced) is used from then on; with none it costs a few property reads.
 */
export function activeTracer(): Tracer | undefined {
  const api = otel === undefined ? loadOtel() : otel;
  if (api === null) return undefined;
  // The global provider is the API's proxy: without a registered SDK it has no delegate, and every
  // span it started would be a no-op. Another API copy's proxy has the same method.
  const provider = traceApi!.getTracerProvider() as Partial<ProxyTracerProvider>;
  return provider.getDelegateTracer === undefined ? provider.getTracer!(TRACER_NAME) : provider.getDelegateTracer(TRACER_NAME);
}

/** The loaded API; only for code that already has a tracer from {@link activeTracer}. */
export function otelApi(): Otel {
  return otel!;
}
