// Trace metadata across the hop: a client's dispatch hook (Nest's setOnDispatchHook) travels as
// the envelope's `meta` to an ArrpcServer handler's ctx.getMetadata(), and is never written when
// the payload goes raw to the default pattern, so a Python server sees the reference's bytes.
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, type ReadPacket } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, ArrpcClient, ArrpcContext, decodeMessage, type ArrpcClientOptions } from '../../../lib/index.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { describeVectors, fromTagged } from '../../support/vectors.js';
import { holdsWholeFloat } from '../../support/vectors.js';
import { clientFactory, outcomeOf, useCleanup } from '../client/helpers.js';
import { startServer } from '../server/helpers.js';
import { waitFor } from './helpers.js';

const seenEvents: unknown[] = [];

@Controller()
class TracedController {
  @MessagePattern('whoami')
  whoami(@Ctx() ctx: ArrpcContext): object {
    return { pattern: ctx.getPattern(), meta: ctx.getMetadata() ?? null };
  }

  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Ctx() ctx: ArrpcContext): object {
    return { pattern: ctx.getPattern(), meta: ctx.getMetadata() ?? null };
  }

  @EventPattern<string>('traced.event')
  event(@Ctx() ctx: ArrpcContext): void {
    seenEvents.push(ctx.getMetadata());
  }
}

const track = useCleanup();
const newClient = clientFactory(track);

/** A client whose dispatch hook gives every packet the next `x-request-id`, as a tracing library does. */
function tracedClient(options: ArrpcClientOptions): { client: ArrpcClient; ids: string[] } {
  const client = newClient(options);
  const ids: string[] = [];
  client.setOnDispatchHook((packet: ReadPacket) => {
    const id = `req-${ids.length + 1}`;
    ids.push(id);
    packet.metadata = { ...packet.metadata, 'x-request-id': id };
  });
  return { client, ids };
}

describe('a dispatch hook\'s metadata reaches the handler', () => {
  it('as ctx.getMetadata() of a request, beside the reserved arrpc-timeout-ms', async () => {
    const server = track(await startServer([TracedController]));
    const { client } = tracedClient({ port: server.port, peer: 'nestjs-arrpc' });

    expect(await client.call('whoami', null)).toEqual({ pattern: 'whoami', meta: { 'x-request-id': 'req-1' } });
    const timed = (await client.call('whoami', null, { timeoutMs: 2000 })) as { meta: Record<string, string> };
    expect(timed.meta['x-request-id']).toBe('req-2');
    expect(Number(timed.meta['arrpc-timeout-ms'])).toBeGreaterThan(1900);
    expect(Number(timed.meta['arrpc-timeout-ms'])).toBeLessThanOrEqual(2000);
  });

  it('on events too, and a hook cannot forge a reserved arrpc- key', async () => {
    seenEvents.length = 0;
    const server = track(await startServer([TracedController]));
    const { client } = tracedClient({ port: server.port, peer: 'nestjs-arrpc', timeout: 2000 });
    client.setOnDispatchHook((packet: ReadPacket) => {
      packet.metadata = { 'x-request-id': 'ev-1', 'arrpc-timeout-ms': '1', 'arrpc-other': 'x' };
    });

    await client.call('whoami', null).then((answer) => {
      const meta = (answer as { meta: Record<string, string> }).meta;
      expect(meta['x-request-id']).toBe('ev-1');
      expect(meta['arrpc-other']).toBeUndefined();
      expect(Number(meta['arrpc-timeout-ms'])).toBeGreaterThan(1000);
    });
    await new Promise((resolve, reject) => client.emit('traced.event', 1).subscribe({ complete: () => resolve(undefined), error: reject }));
    await waitFor(() => seenEvents.length === 1, 2000, 'the event handler ran');
    // Events carry no deadline: nobody waits for their handler.
    expect(seenEvents[0]).toEqual({ 'x-request-id': 'ev-1' });
  });

  it('is not written for the raw default pattern: the handler sees no metadata', async () => {
    const server = track(await startServer([TracedController]));
    const { client, ids } = tracedClient({ port: server.port, peer: 'nestjs-arrpc', timeout: 2000 });

    expect(await client.call(ARRPC_DEFAULT_PATTERN, { a: 1 })).toEqual({ pattern: ARRPC_DEFAULT_PATTERN, meta: null });
    expect(ids).toEqual(['req-1']);
  });
});

describeVectors('the same hooked client toward a Python-like server writes the reference\'s bytes', (vectors) => {
  // As test/e2e/client/python-vectors.spec.ts, with a dispatch hook and a timeout set: neither
  // may change a byte of a raw send.
  const cases = vectors.cases.filter((vector) => vector.sent_value !== undefined);

  it('has cases to send', () => expect(cases.length).toBeGreaterThan(20));

  it.each(cases.map((vector) => [vector.name, vector] as const))('%s', async (_name, vector) => {
    const peer = track(await startPythonPeer({ authSecret: vector.server_auth_secret ?? undefined }));
    const { client, ids } = tracedClient({ port: peer.port, authSecret: vector.client_auth_secret ?? undefined, timeout: 150 });

    await outcomeOf(client.call(ARRPC_DEFAULT_PATTERN, fromTagged(vector.sent_value)));

    expect(ids).toHaveLength(1);
    expect(peer.requests).toHaveLength(1);
    const written = peer.requests[0]!;
    const captured = vector.wire[0]!;
    if (holdsWholeFloat(vector.sent_value)) {
      // The codec's one named deviation (DECISIONS.md "Codec"): Python's 2.0 is written as 2.
      expect(decodeMessage(written)).toEqual(fromTagged(captured.decoded));
    } else {
      expect(written.toString('hex')).toBe(captured.hex);
    }
  });
});
