// The client's connection rules under failure (PROTOCOL.md part 2, DECISIONS.md "Client"):
// retries only for connecting, nothing written twice, a request that ends without its answer
// takes its connection down, and close() leaves nothing pending.
import { createServer, type Socket } from 'node:net';
import { lastValueFrom, timeout as rxTimeout, TimeoutError, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  ArrpcProtocolError,
  ArrpcStatus,
  CancelledException,
  ClientClosedException,
  ConnectException,
  ConnectionLostException,
  InvalidResponseException,
  RpcTimeoutException,
  decodeMessage,
  type ConnectionPool,
} from '../../../lib/index.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { freeServerClose, listen, unusedPort } from '../../support/sockets.js';
import { clientFactory, delayedEcho, errorOf, sleep, startHttpServer, startScriptedServer, useCleanup } from './helpers.js';

const track = useCleanup();
const newClient = clientFactory(track);

/** Every value a status stream emits until the test ends. */
function record<T>(status: Observable<T>): T[] {
  const seen: T[] = [];
  status.subscribe((value) => seen.push(value));
  return seen;
}

describe('connecting', () => {
  it('retries conMaxRetries times with linear back-off, then fails with the reference message', async () => {
    const port = await unusedPort();
    const client = newClient({ port, conMaxRetries: 4, retryBaseMs: 30 });
    const retries: [string, number, number][] = [];
    const errors: Error[] = [];
    client.on('retry', (endpoint, attempt, delayMs) => retries.push([endpoint, attempt, delayMs]));
    client.on('error', (error) => errors.push(error));
    const statuses = record(client.status);

    const started = performance.now();
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1));
    const elapsed = performance.now() - started;

    expect(error).toBeInstanceOf(ConnectException);
    expect(error.message).toBe(`Failed to connect to 127.0.0.1:${port} with 4 attempts`);
    expect(error).toMatchObject({ code: 'ARRPC_ERR_CONNECT', attempts: 4, pattern: ARRPC_DEFAULT_PATTERN, endpoint: `127.0.0.1:${port}` });
    expect(error.cause).toMatchObject({ code: 'ECONNREFUSED' });
    const endpoint = `127.0.0.1:${port}`;
    expect(retries).toEqual([[endpoint, 1, 30], [endpoint, 2, 60], [endpoint, 3, 90]]);
    expect(elapsed).toBeGreaterThanOrEqual(30 + 60 + 90 - 5);
    expect(elapsed).toBeLessThan(2000);
    expect(errors).toHaveLength(1);
    expect(statuses).toEqual([ArrpcStatus.Disconnected, ArrpcStatus.Connecting, ArrpcStatus.Disconnected]);
  });

  it('fails every call waiting for the connection, and connects again for the next call', async () => {
    const port = await unusedPort();
    const client = newClient({ port, conMaxRetries: 2 });
    const failures = await Promise.all([1, 2, 3].map((n) => errorOf(client.call(ARRPC_DEFAULT_PATTERN, n))));
    for (const error of failures) expect(error).toBeInstanceOf(ConnectException);
    const retries: number[] = [];
    client.on('retry', (_endpoint, attempt) => retries.push(attempt));
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 4))).toBeInstanceOf(ConnectException);
    expect(retries).toEqual([1]);
  });

  it('connect() opens a connection ahead of the first call, and fails with ConnectException', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    const statuses = record(client.status);
    await client.connect();
    await client.connect();
    expect(peer.connections).toBe(1);
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(1);
    expect(statuses).toEqual([ArrpcStatus.Disconnected, ArrpcStatus.Connecting, ArrpcStatus.Connected]);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'x')).toBe('x');
    expect(peer.connections).toBe(1);

    const absent = newClient({ port: await unusedPort(), conMaxRetries: 2 });
    const absentStatuses = record(absent.status);
    expect(await errorOf(absent.connect())).toBeInstanceOf(ConnectException);
    expect(absentStatuses).toEqual([ArrpcStatus.Disconnected, ArrpcStatus.Connecting, ArrpcStatus.Disconnected]);
  });

  it('goes connecting, then connected, on the first call (Nest status contract)', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    const statuses = record(client.status);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'x')).toBe('x');
    expect(statuses).toEqual([ArrpcStatus.Disconnected, ArrpcStatus.Connecting, ArrpcStatus.Connected]);
  });

  it('bounds each connection attempt by the timeout', async () => {
    // A TLS client meeting a TCP server that never answers its handshake: each attempt hangs.
    const silent = track(await startScriptedServer(() => Buffer.alloc(0)));
    const client = newClient({ port: silent.port, tls: {}, timeout: 60, conMaxRetries: 2, retryBaseMs: 10 });
    const started = performance.now();
    const error = await errorOf(client.connect());
    expect(error).toBeInstanceOf(ConnectException);
    expect(error.cause.message).toMatch(/took over 60 ms/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(60 + 10 + 60 - 5);
    expect(silent.connections).toBe(2);
  });
});

describe('a connection that breaks', () => {
  it('fails the call in flight with ConnectionLostException when the server dies, and reconnects for the next', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port, conMaxRetries: 1 });
    const disconnects: (Error | undefined)[] = [];
    client.on('disconnect', (_endpoint, error) => disconnects.push(error));
    const pending = errorOf(client.call(ARRPC_DEFAULT_PATTERN, { delay: 1000 }));
    await expect.poll(() => peer.requests.length).toBe(1);
    await peer.close();
    const error = await pending;
    expect(error).toBeInstanceOf(ConnectionLostException);
    expect(error.cause).toBeInstanceOf(Error);
    expect(disconnects).toHaveLength(1);
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 2))).toBeInstanceOf(ConnectException);
  });

  it('opens no replacement while another connection still takes requests, until an answer comes', async () => {
    // A server that answers only when told: each connection's request is held until echoed.
    const held: { socket: Socket; chunk: Buffer }[] = [];
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
      socket.on('data', (chunk) => held.push({ socket, chunk }));
    });
    const port = await listen(server);
    track({ close: () => freeServerClose(server, sockets) });
    const client = newClient({ port, poolSize: 2 });
    const first = errorOf(client.call(ARRPC_DEFAULT_PATTERN, 'first'));
    const second = client.call(ARRPC_DEFAULT_PATTERN, 'second');
    await expect.poll(() => held.length).toBe(2);
    // The first connection breaks as a dying server's would; the second still has its call in flight.
    held.shift()!.socket.resetAndDestroy();
    expect(await first).toBeInstanceOf(ConnectionLostException);
    const third = client.call(ARRPC_DEFAULT_PATTERN, 'third');
    await sleep(100);
    // What a new connection to this server would carry could be lost with it: the call waits.
    expect(sockets).toHaveLength(2);
    expect(held).toHaveLength(1);
    const answered = held.shift()!;
    answered.socket.write(answered.chunk);
    expect(await second).toBe('second');
    await expect.poll(() => held.length).toBe(1);
    expect(held[0]!.socket).toBe(answered.socket);
    held[0]!.socket.write(held[0]!.chunk);
    expect(await third).toBe('third');
  });

  it('reconnects lazily after the server closed an idle connection', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 1)).toBe(1);
    client.unwrap<ConnectionPool>().sockets[0]!.destroy();
    await expect.poll(() => client.unwrap<ConnectionPool>().sockets.length).toBe(0);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 2)).toBe(2);
    expect(peer.connections).toBe(2);
  });

  it('fails an answer over maxMessageBytes with InvalidResponseException and replaces the connection', async () => {
    const peer = track(await startPythonPeer({ handler: (value) => 'z'.repeat(value as number) }));
    const client = newClient({ port: peer.port, maxMessageBytes: 100 });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 500));
    expect(error).toBeInstanceOf(InvalidResponseException);
    expect(error).toMatchObject({ code: 'ARRPC_ERR_INVALID_RESPONSE', cause: expect.any(ArrpcProtocolError) });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 10)).toBe('z'.repeat(10));
    expect(peer.connections).toBe(2);
  });

  it('fails an answer the protocol refuses (int map keys) with InvalidResponseException and keeps the connection', async () => {
    // {1: "one"} first, then echoes: the refused value is still framed, so the stream stays in step.
    const server = track(await startScriptedServer((request, n) => (n === 0 ? Buffer.from('8101a36f6e65', 'hex') : request)));
    const client = newClient({ port: server.port });
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 'int-keys'))).toBeInstanceOf(InvalidResponseException);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'next')).toBe('next');
    expect(server.connections).toBe(1);
  });

  it('fails the call and replaces the connection when the answer is not MessagePack', async () => {
    const server = track(await startScriptedServer((request, n) => (n === 0 ? Buffer.from('c1', 'hex') : request)));
    const client = newClient({ port: server.port });
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1))).toBeInstanceOf(InvalidResponseException);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 2)).toBe(2);
    expect(server.connections).toBe(2);
  });

  it.each([
    ['a second answer', (request: Buffer) => Buffer.concat([request, request])],
    ['the start of another value', (request: Buffer) => Buffer.concat([request, Buffer.from('92', 'hex')])],
  ])('fails the call with InvalidResponseException when %s follows its answer, and replaces the connection', async (_case, answer) => {
    const server = track(await startScriptedServer((request, n) => (n === 0 ? answer(request) : request)));
    const client = newClient({ port: server.port });
    const disconnected = new Promise<Error | undefined>((resolve) => client.on('disconnect', (_endpoint, error) => resolve(error)));
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1));
    expect(error).toBeInstanceOf(InvalidResponseException);
    expect(error.message).toMatch(/bytes past the answer to the request in flight/);
    expect((await disconnected)?.message).toMatch(/bytes past the answer/);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 2)).toBe(2);
    expect(server.connections).toBe(2);
  });

  it('drops a connection on which bytes come with no request in flight', async () => {
    // Answers, then, once the answer has surely been read, the first byte of an array: a value
    // only begun, where no value may begin at all.
    const strayByte = (socket: Socket, n: number) => n === 0 && setTimeout(() => socket.write(Buffer.from('92', 'hex')), 50);
    const server = track(await startScriptedServer((request) => request, strayByte));
    const client = newClient({ port: server.port });
    const disconnected = new Promise<Error | undefined>((resolve) => client.on('disconnect', (_endpoint, error) => resolve(error)));
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 1)).toBe(1);
    expect((await disconnected)?.message).toMatch(/bytes with no request in flight/);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 2)).toBe(2);
    expect(server.connections).toBe(2);
  });

  it('fails a call to an HTTP server with InvalidResponseException, not with the "H" of its status line read as 72', async () => {
    const http = track(await startHttpServer());
    const client = newClient({ port: http.port, timeout: 5000 });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { sku: 'apple' }));
    expect(error).toBeInstanceOf(InvalidResponseException);
    expect(error).toMatchObject({ code: 'ARRPC_ERR_INVALID_RESPONSE', endpoint: `127.0.0.1:${http.port}` });
  });
});

describe('timeouts and cancellation', () => {
  it('after a timeout, the next call uses a fresh connection and gets its own answer', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { id: 1, delay: 150 }, { timeoutMs: 40 }));
    expect(error).toBeInstanceOf(RpcTimeoutException);
    expect(error).toMatchObject({ timeoutMs: 40, remote: false });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { id: 2 })).toEqual({ id: 2 });
    // Past the late answer's time: it reached nobody, the fresh connection is still in step.
    await sleep(150);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { id: 3 })).toEqual({ id: 3 });
    expect(peer.connections).toBe(2);
  });

  it('counts queueing in the timeout, and fails a call that timed out in the queue without writing it', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    // One connection, so that the second call queues behind the first.
    const client = newClient({ port: peer.port, poolSize: 1 });
    const first = client.call(ARRPC_DEFAULT_PATTERN, { id: 1, delay: 100 });
    const queued = errorOf(client.call(ARRPC_DEFAULT_PATTERN, { id: 2 }, { timeoutMs: 30 }));
    expect(await queued).toBeInstanceOf(RpcTimeoutException);
    expect(await first).toEqual({ id: 1, delay: 100 });
    expect(peer.requests).toHaveLength(1);
    expect(peer.connections).toBe(1);
  });

  it('fails a call with timeoutMs 0 at once, nothing written', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1, { timeoutMs: 0 }))).toBeInstanceOf(RpcTimeoutException);
    expect(peer.connections).toBe(0);
  });

  it.each([2 ** 31, NaN])('refuses the call timeout %s, which no timer can wait', async (timeoutMs) => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1, { timeoutMs }));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe(`Invalid ArrpcClient.call option "timeoutMs": expected a number of milliseconds up to 2147483647, got ${timeoutMs}`);
    expect(peer.connections).toBe(0);
  });

  it('treats an unsubscribe before the answer (rxjs timeout) as a cancellation that replaces the connection', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port });
    const send = client.send(ARRPC_DEFAULT_PATTERN, { id: 1, delay: 150 }).pipe(rxTimeout(40));
    expect(await errorOf(lastValueFrom(send))).toBeInstanceOf(TimeoutError);
    await expect.poll(() => client.unwrap<ConnectionPool>().sockets.length).toBe(0);
    expect(await lastValueFrom(client.send(ARRPC_DEFAULT_PATTERN, { id: 2 }))).toEqual({ id: 2 });
    await sleep(150);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { id: 3 })).toEqual({ id: 3 });
    expect(peer.connections).toBe(2);
  });

  it('drops an unsubscribed call that was still queued, without touching the connection', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    // One connection, so that the second call queues behind the first.
    const client = newClient({ port: peer.port, poolSize: 1 });
    const first = client.call(ARRPC_DEFAULT_PATTERN, { id: 1, delay: 60 });
    const subscription = client.send(ARRPC_DEFAULT_PATTERN, { id: 2 }).subscribe();
    await expect.poll(() => peer.requests.length).toBe(1);
    subscription.unsubscribe();
    expect(await first).toEqual({ id: 1, delay: 60 });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { id: 3 })).toEqual({ id: 3 });
    expect(peer.requests.map((bytes) => decodeMessage(bytes))).toEqual([{ id: 1, delay: 60 }, { id: 3 }]);
    expect(peer.connections).toBe(1);
  });

  it('cancels through an AbortSignal: CancelledException, and the connection is replaced', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    const client = newClient({ port: peer.port });
    const controller = new AbortController();
    const pending = errorOf(client.call(ARRPC_DEFAULT_PATTERN, { id: 1, delay: 150 }, { signal: controller.signal }));
    await expect.poll(() => peer.requests.length).toBe(1);
    controller.abort(new Error('user gave up'));
    const error = await pending;
    expect(error).toBeInstanceOf(CancelledException);
    expect(error).toMatchObject({ code: 'ARRPC_ERR_CANCELLED', cause: new Error('user gave up') });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { id: 2 })).toEqual({ id: 2 });
    expect(peer.connections).toBe(2);
  });

  it('fails a call with an already aborted signal at once, nothing written', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1, { signal: AbortSignal.abort() }))).toBeInstanceOf(CancelledException);
    expect(peer.connections).toBe(0);
  });

  it('fails a value with no MessagePack form before writing it, and stays usable', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { f: () => 1 }))).toBeInstanceOf(ArrpcProtocolError);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 'ok')).toBe('ok');
    expect(peer.requests).toHaveLength(1);
  });
});

describe('close()', () => {
  it('fails the call in flight and the queued ones with ClientClosedException and closes every socket', async () => {
    const peer = track(await startPythonPeer({ handler: delayedEcho }));
    // One connection, so that the later calls queue behind the first.
    const client = newClient({ port: peer.port, poolSize: 1 });
    const statuses = record(client.status);
    const pending = [1, 2, 3].map((id) => errorOf(client.call(ARRPC_DEFAULT_PATTERN, { id, delay: 500 })));
    const event = errorOf(lastValueFrom(client.emit(ARRPC_DEFAULT_PATTERN, { id: 4 })));
    await expect.poll(() => peer.requests.length).toBe(1);
    await client.close();
    for (const error of [...(await Promise.all(pending)), await event]) {
      expect(error).toBeInstanceOf(ClientClosedException);
      expect(error.code).toBe('ARRPC_ERR_CLIENT_CLOSED');
    }
    expect(client.unwrap<ConnectionPool>().sockets).toHaveLength(0);
    expect(statuses.at(-1)).toBe(ArrpcStatus.Disconnected);
    expect(peer.requests).toHaveLength(1);
  });

  it('refuses calls after close() until connect() is called again', async () => {
    const peer = track(await startPythonPeer());
    const client = newClient({ port: peer.port });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 1)).toBe(1);
    await client.close();
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 2))).toBeInstanceOf(ClientClosedException);
    await client.connect();
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 3)).toBe(3);
  });

  it('stops a connection still retrying', async () => {
    const client = newClient({ port: await unusedPort(), conMaxRetries: 5, retryBaseMs: 1000 });
    const pending = errorOf(client.call(ARRPC_DEFAULT_PATTERN, 1));
    await sleep(20);
    const started = performance.now();
    await client.close();
    expect(await pending).toBeInstanceOf(ClientClosedException);
    expect(performance.now() - started).toBeLessThan(200);
  });
});
