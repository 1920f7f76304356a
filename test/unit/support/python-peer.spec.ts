import { createHmac } from 'node:crypto';
import { encode } from '@msgpack/msgpack';
import { afterEach, describe, expect, it } from 'vitest';
import { pythonStyleCall, PythonStyleClient } from '../../support/python-client.js';
import { PYTHON_AUTH_ERROR, PYTHON_RECV_SIZE, startPythonPeer, type PythonPeer } from '../../support/python-peer.js';
import { connectRaw } from '../../support/sockets.js';
import { describeVectors, fromTagged } from '../../support/vectors.js';

// Client tests trust this peer to behave as the Python reference server, so it is held to the
// captured exchanges byte for byte, over real sockets.
const SILENCE_MS = 150;

let peer: PythonPeer | undefined;
afterEach(async () => {
  await peer?.close();
  peer = undefined;
});

describe('python peer', () => {
  it('echoes a value over a real socket, one request in flight', async () => {
    peer = await startPythonPeer();
    const request = encode({ foo: 'bar', n: [1, 2.5] });
    expect(await pythonStyleCall(peer.port, request)).toEqual(Buffer.from(request));
    expect(peer.requests).toEqual([Buffer.from(request)]);
    expect(peer.maxInFlight).toBe(1);
  });

  it.each([
    ['{}', '80'],
    ['[]', '90'],
    ['""', 'a0'],
    ['0', '00'],
    ['0.0', 'cb0000000000000000'],
    ['false', 'c2'],
    ['nil', 'c0'],
    ['b""', 'c400'],
  ])('stays silent for the falsy value %s and keeps the connection', async (_name, hex) => {
    peer = await startPythonPeer();
    const socket = await connectRaw(peer.port);
    await socket.write(hex);
    expect(await socket.readAvailable(SILENCE_MS)).toHaveLength(0);
    expect(socket.closed).toBe(false);
    await socket.write('a26869');
    expect((await socket.readBytes(3)).toString('hex')).toBe('a26869');
    socket.destroy();
  });

  it('reads like recv(4096): a message of exactly 4096 bytes waits for more', async () => {
    peer = await startPythonPeer();
    const str = 'y'.repeat(PYTHON_RECV_SIZE - 3); // str16 header (3 bytes) + body = 4096
    const request = encode(str);
    expect(request.length).toBe(PYTHON_RECV_SIZE);
    expect(await pythonStyleCall(peer.port, request, SILENCE_MS)).toBe('timeout');
  });

  it('answers a half-closed message of 4096 bytes, as a Python recv() loop ending at EOF', async () => {
    peer = await startPythonPeer({ handler: () => 'ok' });
    const socket = await connectRaw(peer.port);
    await socket.write(encode('y'.repeat(PYTHON_RECV_SIZE - 3)));
    await socket.end();
    expect((await socket.readBytes(3)).toString('hex')).toBe('a26f6b');
    expect(await socket.waitClosed()).toBe(true);
  });

  it('counts pipelined requests: two in one write are one unreadable message', async () => {
    peer = await startPythonPeer();
    expect(await pythonStyleCall(peer.port, '81a1610181a16202', SILENCE_MS)).toBe('timeout');
    expect(peer.maxInFlight).toBe(2);
  });

  it('counts pipelined requests: a second one written during a slow answer is answered after it', async () => {
    peer = await startPythonPeer({ delayMs: 100 });
    const socket = await connectRaw(peer.port);
    await socket.write('a161');
    await new Promise((resolve) => setTimeout(resolve, 30));
    await socket.write('a162');
    expect((await socket.readBytes(4)).toString('hex')).toBe('a161a162');
    expect(peer.maxInFlight).toBe(2);
    expect(peer.requests.map((r) => r.toString('hex'))).toEqual(['a161', 'a162']);
    socket.destroy();
  });

  it('verifies signed envelopes and answers the AuthException otherwise', async () => {
    peer = await startPythonPeer({ authSecret: 's3cret' });
    const inner = encode([1, 2, 3]);
    const sign = createHmac('sha256', 's3cret').update(inner).digest('hex');
    const client = await PythonStyleClient.connect(peer.port);
    expect(await client.call(encode({ 'arrpc.sign': sign, data: inner }))).toEqual(Buffer.from(inner));
    expect(await client.call(encode({ 'arrpc.sign': '00', data: inner }))).toEqual(Buffer.from(encode(PYTHON_AUTH_ERROR)));
    expect(await client.call(encode({ 'arrpc.sign': sign, data: 'text' }))).toBe('closed');
    client.close();
  });

  it('answers {return: x} with x, encoded afresh', async () => {
    peer = await startPythonPeer();
    expect(await pythonStyleCall(peer.port, encode({ return: { a: 1 } }))).toEqual(Buffer.from(encode({ a: 1 })));
  });
});

describeVectors('python peer replays the captured exchanges', ({ cases }) => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, vector) => {
    peer = await startPythonPeer({ authSecret: vector.server_auth_secret ?? undefined });
    const responses = vector.wire.filter((turn) => turn.direction === 'response').map((turn) => turn.hex);
    // Raw-bytes cases state what came back in time (`response_hex`); the capture may hold a later
    // answer too: `exactly-4096-bytes` is answered only once the client half-closes.
    const inTime = vector.raw_request_hex === undefined ? responses : responses.slice(0, vector.response_hex ? 1 : 0);
    const socket = await connectRaw(peer.port);
    for (const turn of vector.wire) if (turn.direction === 'request') await socket.write(turn.hex);
    for (const hex of inTime) expect((await socket.readBytes(hex.length / 2)).toString('hex')).toBe(hex);
    if (vector.server_closed_connection) {
      expect(await socket.waitClosed()).toBe(true);
    } else {
      expect((await socket.readAvailable(SILENCE_MS)).toString('hex')).toBe('');
      expect(socket.closed).toBe(false);
      await socket.end();
      for (const hex of responses.slice(inTime.length)) expect((await socket.readBytes(hex.length / 2)).toString('hex')).toBe(hex);
    }
    socket.destroy();
  });
});
