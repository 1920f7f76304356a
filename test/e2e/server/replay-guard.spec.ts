// The opt-in replay guard (`replayWindowMs`) over real sockets: an ArrpcClient with
// `peer: 'nestjs-arrpc'` signs its time and a nonce; a captured request sent again, or one
// whose time is outside the window, is refused; Python-signed requests (the reference's own bytes
// from vectors.json) are served or refused as `replayAllowUnguarded` says; the nonce memory is bounded.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  AuthException,
  MessageEncoder,
  NonceSource,
  buildEnvelope,
  guardMessage,
  signMessage,
  type ArrpcServerOptions,
} from '../../../lib/index.js';
import { describeVectors, hexBytes } from '../../support/vectors.js';
import { clientFactory, errorOf, startScriptedServer, useCleanup } from '../client/helpers.js';
import { TestPeer, answerTo, sleep, startServer, type TestServer } from './helpers.js';

const SECRET = 'replay-guard-secret';
const WINDOW_MS = 2000;
const AUTH = "arrpc.error.AuthException: Invalid or missing message signature, make sure 'auth_secret' is set/correct";
const encoder = new MessageEncoder();
const nonces = new NonceSource();

@Controller()
class EchoController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return { echoed: data };
  }
}

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

async function serve(options: ArrpcServerOptions): Promise<TestServer> {
  const server = await startServer([EchoController], { authSecret: SECRET, ...options });
  servers.push(server);
  return server;
}

/** The bytes a guarded client would write for `value`, with the time `time`. */
function guarded(value: unknown, time: number, secret = SECRET): Buffer {
  return signMessage(encoder, encoder.encode(guardMessage(value, time, nonces.next())), secret);
}

describe('replayWindowMs', () => {
  const track = useCleanup();
  const client = clientFactory(track);

  it('serves a nestjs-arrpc client: raw default pattern and named patterns reach handlers unwrapped', async () => {
    const { port } = await serve({ replayWindowMs: WINDOW_MS });
    const nest = client({ port, authSecret: SECRET, peer: 'nestjs-arrpc' });
    expect(await nest.call(ARRPC_DEFAULT_PATTERN, { a: 1 })).toEqual({ a: 1 });
    expect(await nest.call('echo', [1, 2])).toEqual({ echoed: [1, 2] });
    expect(await nest.call('echo', 'again')).toEqual({ echoed: 'again' });
  });

  it('refuses a captured request written again, on another connection or the same one', async () => {
    let captured: Buffer | undefined;
    const catcher = track(
      await startScriptedServer((request) => {
        captured = request;
        return encoder.encode('caught');
      }),
    );
    expect(await client({ port: catcher.port, authSecret: SECRET, peer: 'nestjs-arrpc' }).call('echo', 'pay 100')).toBe('caught');
    const { port } = await serve({ replayWindowMs: WINDOW_MS });
    const peer = await TestPeer.connect(port);
    await peer.writeRaw(captured!);
    expect(await peer.next()).toEqual({ echoed: 'pay 100' });
    await peer.writeRaw(captured!);
    expect(await peer.next()).toBe(AUTH);
    peer.destroy();
    expect(await answerTo(port, captured!)).toBe(AUTH);
  });

  it('refuses a guarded request whose time is outside the window, either side', async () => {
    const { port } = await serve({ replayWindowMs: WINDOW_MS });
    expect(await answerTo(port, guarded('late', Date.now() - WINDOW_MS - 1000))).toBe(AUTH);
    expect(await answerTo(port, guarded('early', Date.now() + WINDOW_MS + 1000))).toBe(AUTH);
    expect(await answerTo(port, guarded('now', Date.now()))).toBe('now');
  });

  it('refuses a guard that does not verify: a nonce swapped after signing', async () => {
    const { port } = await serve({ replayWindowMs: WINDOW_MS });
    const bytes = guarded(buildEnvelope('request', 'echo', 1), Date.now());
    const nonceAt = bytes.indexOf(Buffer.from('arrpc.nonce')) + 'arrpc.nonce'.length + 2; // past the bin8 header
    bytes[nonceAt]! ^= 0xff;
    expect(await answerTo(port, bytes)).toBe(AUTH);
  });

  it('bounds the nonce memory: when full it refuses, and admits again once the window forgets', async () => {
    const windowMs = 500;
    const { port } = await serve({ replayWindowMs: windowMs, replayMaxNonces: 2 });
    const peer = await TestPeer.connect(port);
    for (const value of ['one', 'two']) {
      await peer.writeRaw(guarded(value, Date.now()));
      expect(await peer.next()).toBe(value);
    }
    await peer.writeRaw(guarded('three', Date.now()));
    expect(await peer.next()).toBe(AUTH);
    await sleep(windowMs + 100);
    await peer.writeRaw(guarded('four', Date.now()));
    expect(await peer.next()).toBe('four');
    peer.destroy();
  });

  it('is off by default: a server with authSecret alone serves a guarded request, and its copy', async () => {
    const { port } = await serve({});
    const bytes = guarded('twice', Date.now());
    expect(await answerTo(port, bytes)).toBe('twice');
    expect(await answerTo(port, bytes)).toBe('twice');
  });

  it('a client with peer \'python\' writes no guard: refused unless replayAllowUnguarded', async () => {
    const strict = await serve({ replayWindowMs: WINDOW_MS });
    const lenient = await serve({ replayWindowMs: WINDOW_MS, replayAllowUnguarded: true });
    expect(await errorOf(client({ port: strict.port, authSecret: SECRET }).call(ARRPC_DEFAULT_PATTERN, 1))).toBeInstanceOf(AuthException);
    expect(await client({ port: lenient.port, authSecret: SECRET }).call(ARRPC_DEFAULT_PATTERN, 1)).toBe(1);
  });

  it('refuses replayWindowMs without authSecret at start-up', async () => {
    await expect(startServer([EchoController], { replayWindowMs: WINDOW_MS })).rejects.toThrow(
      'Invalid ArrpcServer option "replayWindowMs": needs "authSecret"',
    );
  });
});

describeVectors('replayWindowMs and the Python reference\'s signed requests', (vectors) => {
  const signedMap = vectors.cases.find((c) => c.name === 'signed-map')!;
  const request = hexBytes(signedMap.wire.find((turn) => turn.direction === 'request')!.hex);
  const options = { authSecret: vectors.auth_secret_used, replayWindowMs: WINDOW_MS };

  it('refuses them by default: they carry no guard', async () => {
    const { port } = await serve(options);
    expect(await answerTo(port, request)).toBe(AUTH);
  });

  it('serves them, and their copies, as before with replayAllowUnguarded', async () => {
    const { port } = await serve({ ...options, replayAllowUnguarded: true });
    expect(await answerTo(port, request)).toEqual({ foo: 'bar' });
    expect(await answerTo(port, request)).toEqual({ foo: 'bar' });
  });
});
