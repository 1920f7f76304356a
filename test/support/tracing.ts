// The OpenTelemetry SDK as an application registers it, recording into memory: a tracer provider,
// AsyncLocalStorage context and the W3C trace-context and baggage propagators, all global.
import { context, propagation, trace, type SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { expect, vi } from 'vitest';

/** The registered SDK: what it recorded, and how to take it down again. */
export interface RegisteredTracing {
  readonly exporter: InMemorySpanExporter;
  /** Shuts the provider down and unregisters the globals. */
  close(): Promise<void>;
}

/** Registers the SDK globally; the caller closes it. */
export function registerTracing(): RegisteredTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }));
  return {
    exporter,
    close: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** The id of the span `span` is a child of; undefined for a root span. */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** The one ended span named `name` of `kind`, waiting for it to end; fails if there are several. */
export function endedSpan(exporter: InMemorySpanExporter, name: string, kind: SpanKind): Promise<ReadableSpan> {
  return vi.waitFor(() => {
    const spans = exporter.getFinishedSpans().filter((span) => span.name === name && span.kind === kind);
    expect(spans).toHaveLength(1);
    return spans[0]!;
  });
}
