// ArrpcClient against a server that behaves like the Python reference (PROTOCOL.md part 1): one
// request in flight per connection, the reference's quirks as typed errors or documented values,
// and no request length the reference's reader cannot see.
import { describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  AuthException,
  ConnectionLostException,
  MessageEncoder,
  RemoteRpcException,
  RpcTimeoutException,
  UnsendableRequestException,
  decodeMessage,
  signMessage,
  type ConnectionPool,
} from '../../../lib/index.js';
import { PYTHON_RECV_SIZE, startPythonPeer } from '../../support/python-peer.js';
import { clientFactory, delayedEcho, errorOf, useCleanup } from './helpers.js';

const SECRET = 'python-peer-secret';
/** Wait for an answer the reference never sends. */
const SILENCE_MS = 120;

const track = useCleanup();
const newClient = clientFactory(track);

describe('ArrpcClient against a Python-like server: one request in flight per connection', () => {
  it('serialises concurrent calls on one connection (poolSize 1) and gives each its own answer', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port, poolSize: 1 });
    const ids = [1, 2, 3, 4, 5, 6];
    const answers = await Promise.all(ids.map((id) => client.call(ARRPC_DEFAULT_PATTERN, { id, delay: 5 })));
    expect(answers).toEqual(ids.map((id) => ({ id, delay: 5 })));
    expect(peer.maxInFlight).toBe(1);
    expect(peer.connections).toBe(1);
  });

  it('spreads concurrent calls over poolSize connections, still one in flight on each', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port, poolSize: 3 });
    const ids = Array.from({ length: 9 }, (_, i) => i);
    const answers = await Promise.all(ids.map((id) => client.call(ARRPC_DEFAULT_PATTERN, { id, delay: 10 })));
    expect(answers).toEqual(ids.map((id) => ({ id, delay: 10 })));
    expect(peer.maxInFlight).toBe(1);
    expect(peer.connections).toBe(3);
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(3);
  });
});

describe('ArrpcClient against a Python-like server: the reference quirks', () => {
  it.each([
    ['0', 0],
    ['false', false],
    ['""', ''],
    ['nil', null],
  ])('returns the falsy answer %s as it is (Python returns None)', async (_name, answer) => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { return: answer })).toBe(answer);
  });

  it.each([
    ['{}', {}],
    ['[]', []],
    ['""', ''],
    ['0', 0],
    ['false', false],
    ['nil', null],
    ['undefined (nil)', undefined],
  ])('times out on the unanswered falsy request %s, then serves the next on a fresh connection', async (_name, value) => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port, timeout: SILENCE_MS });
    const started = performance.now();
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, value));
    expect(error).toBeInstanceOf(RpcTimeoutException);
    expect(error).toMatchObject({ message: 'Timed out', code: 'ARRPC_ERR_TIMEOUT', timeoutMs: SILENCE_MS });
    expect(performance.now() - started).toBeLessThan(SILENCE_MS + 500);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'next')).toBe('next');
    expect(peer.connections).toBe(2);
  });

  it('ends a call whose handler crashed (connection dropped) with ConnectionLostException, and never sends it again', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port, timeout: 1000 });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { crash: 1 }));
    expect(error).toBeInstanceOf(ConnectionLostException);
    expect(error).toMatchObject({ code: 'ARRPC_ERR_CONNECTION_LOST', pattern: ARRPC_DEFAULT_PATTERN, endpoint: `127.0.0.1:${peer.port}` });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'after')).toBe('after');
    expect(peer.requests.map((bytes) => decodeMessage(bytes))).toEqual([{ crash: 1 }, 'after']);
    expect(peer.connections).toBe(2);
  });

  it('reads RpcException answers as RemoteRpcException with the message', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { raise: 'out of stock' }));
    expect(error).toBeInstanceOf(RemoteRpcException);
    expect(error.message).toBe('out of stock');
    expect(error.getError()).toBe('out of stock');
    expect(peer.connections).toBe(1);
  });

  it('reads the AuthException answer of a signed server as AuthException, for a missing or wrong secret', async () => {
    const peer = track(await startPythonPeer({ authSecret: SECRET }));
    for (const authSecret of [undefined, 'wrong-secret']) {
      const error = await errorOf(newClient({ port: peer.port, authSecret }).call(ARRPC_DEFAULT_PATTERN, { a: 1 }));
      expect(error).toBeInstanceOf(AuthException);
      expect(error.code).toBe('ARRPC_ERR_AUTH');
    }
    expect(await newClient({ port: peer.port, authSecret: SECRET }).call(ARRPC_DEFAULT_PATTERN, { a: 1 })).toEqual({ a: 1 });
  });

  it('reads an error string anywhere in a str answer, as the reference does', async () => {
    const peer = track(await startPythonPeer({ handler: () => 'prefix arrpc.error.RpcException: inner' }));
    const error = await errorOf(newClient({ port: peer.port }).call(ARRPC_DEFAULT_PATTERN, 1));
    expect(error).toBeInstanceOf(RemoteRpcException);
    expect(error.message).toBe('inner');
  });

  it.each([
    ['UnavailableException', 'arrpc.error.UnavailableException: server is draining'],
    ['RpcTimeoutException', 'arrpc.error.RpcTimeoutException: deadline exceeded before the handler started'],
  ])('returns a str naming %s, a kind only ArrpcServer sends, as the plain answer it is from Python', async (_kind, answer) => {
    // Two servers: had the answer read as "draining", the request would have run again on the other.
    const peers = [track(await startPythonPeer({ handler: () => answer })), track(await startPythonPeer({ handler: () => answer }))];
    const client = newClient({ endpoints: peers.map((peer) => `127.0.0.1:${peer.port}`) });
    const downs: string[] = [];
    client.on('endpoint-down', (endpoint) => downs.push(endpoint));
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 1)).toBe(answer);
    expect(peers[0]!.requests.length + peers[1]!.requests.length).toBe(1);
    expect(downs).toEqual([]);
  });

  it("reads the same strings as those errors with peer 'nestjs-arrpc', whose server does send them", async () => {
    // The stand-in plays an ArrpcServer's answers here: what is under test is how they are read.
    const answers: Record<string, string> = {
      deadline: 'arrpc.error.RpcTimeoutException: deadline exceeded',
      draining: 'arrpc.error.UnavailableException: server is draining',
    };
    const peer = track(await startPythonPeer({ handler: (value) => answers[value as string] }));
    const client = newClient({ port: peer.port, peer: 'nestjs-arrpc' });
    const timeout = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 'deadline'));
    expect(timeout).toBeInstanceOf(RpcTimeoutException);
    expect(timeout).toMatchObject({ remote: true, message: 'deadline exceeded', timeoutMs: undefined });
    // Last: the endpoint is draining from then on.
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 'draining'))).toMatchObject({ code: 'ARRPC_ERR_UNAVAILABLE', message: 'server is draining' });
  });
});

describe('ArrpcClient against a Python-like server: the 4096-byte reading rule', () => {
  const encoder = new MessageEncoder();
  /** The request as written before any widening. */
  const plainBytes = (text: string, secret?: string): Buffer => {
    const inner = encoder.encode(text);
    return secret ? signMessage(encoder, inner, secret) : inner;
  };
  /** Bytes an encoding adds around a string of 256 to 65,535 UTF-8 bytes (str 16), signed or not. */
  const overhead = (secret?: string): number => plainBytes('x'.repeat(5000), secret).length - 5000;
  const targets = [1, 2, 3].flatMap((k) => [-2, -1, 0, 1, 2].map((d) => k * PYTHON_RECV_SIZE + d));

  it.each([
    ['unsigned', undefined],
    ['signed', SECRET],
  ])('never writes a request whose length is a multiple of 4096 (%s), and each is answered', async (_name, authSecret) => {
    const peer = track(await startPythonPeer({ authSecret, handler: (value) => (value as string).length }));
    const client = newClient({ port: peer.port, authSecret, timeout: 1000 });
    for (const target of targets) {
      const text = 'y'.repeat(target - overhead(authSecret));
      expect(plainBytes(text, authSecret)).toHaveLength(target);
      expect(await client.call(ARRPC_DEFAULT_PATTERN, text)).toBe(text.length);
    }
    expect(peer.requests).toHaveLength(targets.length);
    for (const request of peer.requests) expect(request.length % PYTHON_RECV_SIZE).not.toBe(0);
    expect(peer.connections).toBe(1);
  });

  it.each([
    ['a str', 'y'.repeat(17 * PYTHON_RECV_SIZE - 5)],
    ['a bin', new Uint8Array(17 * PYTHON_RECV_SIZE - 5)],
  ])('fails %s of 17 * 4096 bytes with its header at its widest at once, nothing written, and stays usable', async (_kind, data) => {
    // str 32 / bin 32: 5 header bytes, no larger form to widen into.
    expect(encoder.encode(data)).toHaveLength(69_632);
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port, timeout: 5000 });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'before')).toBe('before');
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, data));
    expect(error).toBeInstanceOf(UnsendableRequestException);
    expect(error).toMatchObject({ code: 'ARRPC_ERR_UNSENDABLE', bytes: 69_632, pattern: ARRPC_DEFAULT_PATTERN, endpoint: `127.0.0.1:${peer.port}` });
    expect(error.message).toMatch(/69632 bytes.*4096/);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'after')).toBe('after');
    expect(peer.requests.map((bytes) => decodeMessage(bytes))).toEqual(['before', 'after']);
    expect(peer.connections).toBe(1);
  });

  it("shows why: with peer 'nestjs-arrpc' a 4096-byte request is never seen whole by a Python reader", async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port, peer: 'nestjs-arrpc', timeout: SILENCE_MS });
    const text = 'y'.repeat(PYTHON_RECV_SIZE - overhead());
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, text))).toBeInstanceOf(RpcTimeoutException);
  });
});
