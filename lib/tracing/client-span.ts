import type { Span } from '@opentelemetry/api';
import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, recordFailure, rpcAttributes } from './span-attributes.js';
import { activeTracer, otelApi } from './otel-api.js';

/** Metadata as a dispatch hook sets it (Nest's `PacketMetadata`). */
type Metadata = Readonly<Record<string, string>>;

/**
 * The CLIENT span of one call, from the call until it settles (retries and moves to other
 * endpoints included). Its parent is the context active where the call was made.
 */
export class ClientCallSpan {
  private constructor(private readonly span: Span) {}

  /**
   * Starts the span of a call to `pattern` under the active context; `undefined` when no tracer
   * provider is registered. `text` gives the pattern's text, only then: tracing is off in most
   * processes.
   */
  static start<P>(pattern: P, text: (pattern: P) => string): ClientCallSpan | undefined {
    const tracer = activeTracer();
    if (tracer === undefined) return undefined;
    const api = otelApi();
    const name = text(pattern);
    return new ClientCallSpan(tracer.startSpan(name, { kind: api.SpanKind.CLIENT, attributes: rpcAttributes(name) }, api.context.active()));
  }

  /**
   * The dispatch hook's `metadata` with this span's context added by the global propagator
   * (`traceparent`, `tracestate`, `baggage` with the W3C ones). The propagator's keys win over
   * the hook's: they name the span the server's must be a child of. `undefined` when there
   * is nothing to write.
   */
  inject(metadata: Metadata | undefined): Metadata | undefined {
    const api = otelApi();
    // No prototype: a `__proto__` key from the hook stays an ordinary key.
    const carrier: Record<string, string> = Object.assign(Object.create(null), metadata);
    api.propagation.inject(api.trace.setSpan(api.context.active(), this.span), carrier);
    // Nothing from the hook and nothing injected (no propagator): no empty `meta` either.
    return metadata === undefined && Object.keys(carrier).length === 0 ? undefined : carrier;
  }

  /** The call is being written to `host:port`: the span's `server.address` and `server.port`. */
  wroteTo(host: string, port: number): void {
    this.span.setAttributes({ [ATTR_SERVER_ADDRESS]: host, [ATTR_SERVER_PORT]: port });
  }

  /** Ends the span: failed with `error` (its class, its `code` when it has one), or not. */
  end(error: Error | undefined): void {
    if (error !== undefined) {
      const code = (error as { code?: unknown }).code;
      recordFailure(otelApi(), this.span, { type: errorClass(error), code: typeof code === 'string' ? code : undefined, message: error.message }, error);
    }
    this.span.end();
  }
}

/** The error's class name (`RpcException` subclasses that set no `name` still say what they are). */
function errorClass(error: Error): string {
  const constructorName = (error.constructor as Function | undefined)?.name;
  return constructorName !== undefined && constructorName !== '' ? constructorName : error.name;
}
