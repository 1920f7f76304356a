// Rotating `authSecret` with no outage: a server given `[new, old]` serves requests signed with
// either (the Python reference's own signed requests from vectors.json included), counts them by
// secret position, and a client given a list signs with its first.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, ARRPC_METRIC_NAMES, AuthException, type ArrpcServerOptions } from '../../../lib/index.js';
import { parseExposition, sampleValue } from '../../support/exposition.js';
import { connectRaw } from '../../support/sockets.js';
import { describeVectors, fromTagged, hexBytes, type VectorCase } from '../../support/vectors.js';
import { clientFactory, errorOf, useCleanup } from '../client/helpers.js';
import { TestPeer, answerTo, startServer, type TestServer } from './helpers.js';

const AUTH = "arrpc.error.AuthException: Invalid or missing message signature, make sure 'auth_secret' is set/correct";

/** The reference's test handler, as far as the signed cases use it: echo, or `{raise}` -> RpcException. */
@Controller()
class EchoController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  echo(@Payload() message: unknown): unknown {
    const map = message as Record<string, unknown>;
    if (map !== null && typeof map === 'object' && 'raise' in map) throw new RpcException(String(map['raise']));
    return message;
  }
}

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(options: ArrpcServerOptions): Promise<TestServer> {
  const server = await startServer([EchoController], options);
  servers.push(server);
  return server;
}

/** Writes a captured request on a raw socket and returns the decoded answer. */
function replay(port: number, vector: VectorCase): Promise<unknown> {
  return answerTo(port, hexBytes(vector.wire.find((turn) => turn.direction === 'request')!.hex));
}

function secretCount(registry: Registry, secret: string): Promise<number | undefined> {
  return registry.metrics().then((text) => sampleValue(parseExposition(text), ARRPC_METRIC_NAMES.serverAuthSecretRequests, { secret }));
}

describeVectors('A server rotating its secret, against the Python reference', (vectors) => {
  const signedCases = vectors.cases.filter((c) => c.client_auth_secret !== null && c.client_auth_secret === c.server_auth_secret);
  const wrongSecret = vectors.cases.find((c) => c.name === 'wrong-secret')!;

  it('has the signed cases and a case signed with another secret', () => {
    expect(signedCases.map((c) => c.name)).toEqual(expect.arrayContaining(['signed-map', 'signed-array', 'signed-rpc-exception']));
    expect(wrongSecret.client_auth_secret).not.toBe(wrongSecret.server_auth_secret);
  });

  it('answers each Python-signed request byte for byte when its secret is the old one of [new, old]', async () => {
    const { port } = await serve({ authSecret: ['a-brand-new-secret', vectors.auth_secret_used] });
    for (const vector of signedCases) {
      const captured = vector.wire.find((turn) => turn.direction === 'response')!;
      const socket = await connectRaw(port);
      try {
        await socket.write(hexBytes(vector.wire.find((turn) => turn.direction === 'request')!.hex));
        expect((await socket.readBytes(captured.hex.length / 2)).toString('hex'), vector.name).toBe(captured.hex);
      } finally {
        socket.destroy();
      }
    }
  });

  it('serves Python clients signing with either secret, and counts each by position', async () => {
    const registry = new Registry();
    const { port } = await serve({ authSecret: [wrongSecret.client_auth_secret!, vectors.auth_secret_used], metrics: true, registry });
    expect(await replay(port, wrongSecret)).toEqual(fromTagged(wrongSecret.sent_value));
    const signedMap = signedCases.find((c) => c.name === 'signed-map')!;
    expect(await replay(port, signedMap)).toEqual(fromTagged(signedMap.sent_value));
    expect(await replay(port, signedMap)).toEqual(fromTagged(signedMap.sent_value));
    expect(await secretCount(registry, '0')).toBe(1);
    expect(await secretCount(registry, '1')).toBe(2);
  });

  it('refuses a request signed with neither secret, and counts no secret for it', async () => {
    const registry = new Registry();
    const { port } = await serve({ authSecret: ['new-secret', 'old-secret'], metrics: true, registry });
    expect(await replay(port, signedCases[0]!)).toBe(AUTH);
    expect(await registry.metrics()).not.toContain(ARRPC_METRIC_NAMES.serverAuthSecretRequests);
  });
});

describe('authSecret lists', () => {
  const track = useCleanup();
  const client = clientFactory(track);

  it('a server without authSecret shows no secret counter', async () => {
    const registry = new Registry();
    const { port } = await serve({ metrics: true, registry });
    const peer = await TestPeer.connect(port);
    expect(await peer.call({ a: 1 })).toEqual({ a: 1 });
    peer.destroy();
    expect(await registry.metrics()).not.toContain(ARRPC_METRIC_NAMES.serverAuthSecretRequests);
  });

  it('a client given [new, old] signs with new: served by [new], refused by [old]', async () => {
    const current = await serve({ authSecret: ['new'] });
    const previous = await serve({ authSecret: 'old' });
    expect(await client({ port: current.port, authSecret: ['new', 'old'] }).call(ARRPC_DEFAULT_PATTERN, { a: 1 })).toEqual({ a: 1 });
    const refused = await errorOf(client({ port: previous.port, authSecret: ['new', 'old'] }).call(ARRPC_DEFAULT_PATTERN, { a: 1 }));
    expect(refused).toBeInstanceOf(AuthException);
  });

  it('the whole rotation, servers first, then clients, then servers drop the old secret, never refuses a request', async () => {
    const registry = new Registry();
    const calls = (authSecret: string, port: number) => client({ port, authSecret }).call(ARRPC_DEFAULT_PATTERN, authSecret);
    const both = await serve({ authSecret: ['new', 'old'], metrics: true, registry });
    expect(await calls('old', both.port)).toBe('old');
    expect(await calls('new', both.port)).toBe('new');
    const last = await serve({ authSecret: 'new' });
    expect(await calls('new', last.port)).toBe('new');
    expect(await secretCount(registry, '0')).toBe(1);
    expect(await secretCount(registry, '1')).toBe(1);
  });
});
