// @opentelemetry/api installed (prom-client depends on it) but no tracer provider registered, as
// in most applications: no span, nothing added to `meta`, even with a propagator, a context
// manager and a span context active.
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, type ReadPacket } from '@nestjs/microservices';
import { context, propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArrpcContext } from '../../../lib/index.js';
import { clientFactory, useCleanup } from '../client/helpers.js';
import { startServer } from '../server/helpers.js';

@Controller()
class MetaController {
  @MessagePattern('meta')
  meta(@Ctx() ctx: ArrpcContext): Readonly<Record<string, string>> | undefined {
    return ctx.getMetadata();
  }
}

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  context.disable();
  propagation.disable();
});

/** A span context from elsewhere (an incoming HTTP request's, say), active while `call` runs. */
function underRemoteSpan<T>(call: () => Promise<T>): Promise<T> {
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  return context.with(remote, call);
}

describe('OpenTelemetry API without a tracer provider', () => {
  const track = useCleanup();
  const newClient = clientFactory(track);

  it('writes the dispatch hook metadata alone', async () => {
    const server = track(await startServer([MetaController]));
    const client = newClient({ port: server.port, peer: 'nestjs-arrpc' });

    expect(await underRemoteSpan(() => client.call('meta', null))).toBeNull();
    client.setOnDispatchHook((packet: ReadPacket) => {
      packet.metadata = { 'x-request-id': 'r1' };
    });
    expect(await underRemoteSpan(() => client.call('meta', null))).toEqual({ 'x-request-id': 'r1' });
  });
});
