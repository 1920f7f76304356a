// Hostile peers on a TLS port: plaintext bytes, truncated and trickled handshakes (bounded by the
// `tls.handshakeTimeout` option, which ArrpcServer passes to Node and enforces by closing the socket
// Node reports), hostile bytes after a good handshake, and client certificates under mutual TLS.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import { MessageEncoder, buildEnvelope } from '../../lib/index.js';
import { TestPeer } from '../e2e/server/helpers.js';
import { getTestCerts } from '../support/certs.js';
import { connectRaw, listen } from '../support/sockets.js';
import { CLOSE_WITHIN_MS, reportMemory, sampleMemory, useHostileServer, type HostileFixture } from './harness.js';

/** `tls.handshakeTimeout` of these servers. Node's default is 120 s. */
const HANDSHAKE_MS = 400;

const certs = getTestCerts();
const trustCa = { ca: certs.ca.cert, servername: 'localhost' };
const encoder = new MessageEncoder();

/** The first flight a Node TLS client sends: one ClientHello record. */
async function captureClientHello(): Promise<Buffer> {
  const catcher = net.createServer();
  const port = await listen(catcher);
  const hello = new Promise<Buffer>((resolve) => {
    catcher.once('connection', (socket) => socket.once('data', (data: Buffer) => {
      resolve(data);
      socket.destroy();
    }));
  });
  const client = tls.connect({ port, host: '127.0.0.1', servername: 'localhost' });
  client.on('error', () => undefined);
  try {
    return await hello;
  } finally {
    client.destroy();
    catcher.close();
  }
}

/** Connections the server holds now (TLS sockets in their handshake included). */
function serverConnections(hostile: HostileFixture): Promise<number> {
  return new Promise((resolve, reject) =>
    hostile.server.server.unwrap<net.Server>().getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}

describe('TLS port', () => {
  const hostile = useHostileServer({
    options: { tls: { cert: certs.server.cert, key: certs.server.key, handshakeTimeout: HANDSHAKE_MS } },
    tls: trustCa,
  });

  it.each([
    ['a plaintext MessagePack request', encoder.encode(buildEnvelope('request', 'echo', 'plaintext-marker'))],
    ['the reserved byte 0xc1 alone', Buffer.from([0xc1])],
    ['a plaintext 4 GiB str claim', Buffer.from('dbffffffff', 'hex')],
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: plaintext-marker\r\n\r\n')],
    ['a TLS record header claiming 4,095 bytes, then nothing', Buffer.from('1603010fff', 'hex')],
  ])('%s: closed within the handshake timeout, never answered', async (_name, bytes) => {
    const raw = await connectRaw(hostile.port);
    const startedAt = Date.now();
    await raw.write(bytes).catch(() => undefined);
    expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'during'))).toBe('during');
    expect(await raw.waitClosed(HANDSHAKE_MS + CLOSE_WITHIN_MS)).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(HANDSHAKE_MS + CLOSE_WITHIN_MS);
    // At most a TLS alert comes back, never the plaintext.
    expect((await raw.readAvailable(0)).toString('latin1')).not.toContain('plaintext-marker');
    raw.destroy();
    await hostile.expectHealthy();
  });

  it.each([
    ['after the record header', (hello: Buffer) => hello.subarray(0, 5)],
    ['in its middle', (hello: Buffer) => hello.subarray(0, hello.length >> 1)],
    ['one byte short', (hello: Buffer) => hello.subarray(0, hello.length - 1)],
  ])('a ClientHello cut %s, then silence: closed by the handshake timeout', async (_name, cut) => {
    const hello = await captureClientHello();
    const raw = await connectRaw(hostile.port);
    const startedAt = Date.now();
    await raw.write(cut(hello));
    expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'during'))).toBe('during');
    expect(await raw.waitClosed(HANDSHAKE_MS + CLOSE_WITHIN_MS)).toBe(true);
    const took = Date.now() - startedAt;
    expect(took).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    expect(took).toBeLessThan(HANDSHAKE_MS + CLOSE_WITHIN_MS);
    await expect.poll(() => hostile.logger.lines.some((line) => line.includes('TLS handshake failed'))).toBe(true);
    raw.destroy();
    await hostile.expectHealthy();
  });

  it('a ClientHello trickled one byte every 100 ms: closed by the handshake timeout, not kept alive by the trickle', async () => {
    const hello = await captureClientHello();
    const raw = await connectRaw(hostile.port);
    const startedAt = Date.now();
    let sent = 0;
    while (!raw.closed && sent < hello.length && Date.now() - startedAt < HANDSHAKE_MS + CLOSE_WITHIN_MS) {
      await raw.write(hello.subarray(sent, sent + 1)).catch(() => undefined);
      sent++;
      await raw.waitClosed(100);
    }
    expect(raw.closed).toBe(true);
    expect(Date.now() - startedAt).toBeLessThan(HANDSHAKE_MS + CLOSE_WITHIN_MS);
    expect(sent).toBeLessThan(hello.length);
    raw.destroy();
    await hostile.expectHealthy();
  });

  it('fifty truncated handshakes at once: all released by the timeout, memory back where it was', async () => {
    const hello = await captureClientHello();
    const baseline = await serverConnections(hostile);
    const before = await sampleMemory();
    const raws = await Promise.all(Array.from({ length: 50 }, () => connectRaw(hostile.port)));
    await Promise.all(raws.map((raw) => raw.write(hello.subarray(0, 100))));
    await expect.poll(() => serverConnections(hostile)).toBe(baseline + 50);
    expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'during'))).toBe('during');
    for (const raw of raws) expect(await raw.waitClosed(HANDSHAKE_MS + CLOSE_WITHIN_MS)).toBe(true);
    await expect.poll(() => serverConnections(hostile)).toBe(baseline);
    for (const raw of raws) raw.destroy();
    raws.length = 0;
    hostile.logger.lines.length = 0;
    const growth = reportMemory('50 truncated TLS handshakes, after the timeout', before, await sampleMemory());
    expect(growth).toBeLessThan(4 * 1024 * 1024);
    await hostile.expectHealthy();
  });

  it.each([
    ['the reserved byte 0xc1', 'c1', /protocol breach: byte 0xc1 is reserved/],
    ['a 4 GiB str claim', 'db ff ff ff ff', /protocol breach: message size \d+ exceeds the limit of 65536/],
    ['nesting 1,000 levels', `${'91'.repeat(1000)}01`, /protocol breach: nesting depth 101 exceeds the limit of 100/],
  ])('after a good handshake, %s: the earlier request answered, then the connection closed', async (_name, attack, reason) => {
    await hostile.expectBreach(attack, reason);
    await hostile.expectHealthy();
  });
});

describe('mutual TLS (requestCert, rejectUnauthorized, ca)', () => {
  const clientCert = { cert: certs.client.cert, key: certs.client.key };
  const hostile = useHostileServer({
    options: {
      tls: {
        cert: certs.server.cert,
        key: certs.server.key,
        ca: certs.ca.cert,
        requestCert: true,
        rejectUnauthorized: true,
        handshakeTimeout: HANDSHAKE_MS,
      },
    },
    tls: { ...trustCa, ...clientCert },
  });

  /** True when the server refuses this client: the handshake fails, or the connection closes unanswered. */
  async function refused(options: tls.ConnectionOptions): Promise<boolean> {
    let peer: TestPeer;
    try {
      peer = await TestPeer.connect(hostile.port, options);
    } catch {
      return true;
    }
    try {
      // TLS 1.3: the client may finish its side before the server has checked its certificate.
      await peer.send(buildEnvelope('request', 'echo', 'must not be answered')).catch(() => undefined);
      return await peer.next(HANDSHAKE_MS + CLOSE_WITHIN_MS).then(
        () => false,
        () => peer.closed,
      );
    } finally {
      peer.destroy();
    }
  }

  it.each([
    ['a client certificate from another CA', { ...trustCa, cert: certs.otherClient.cert, key: certs.otherClient.key }],
    ['the other CA\'s own certificate', { ...trustCa, cert: certs.otherCa.cert, key: certs.otherCa.key }],
    ['a self-signed certificate', { ...trustCa, cert: certs.otherServer.cert, key: certs.otherServer.key }],
    ['no client certificate', trustCa],
  ])('refuses %s; the authenticated bystander is unaffected', async (_name, options) => {
    expect(await refused(options)).toBe(true);
    expect(await hostile.ask(hostile.bystander, buildEnvelope('request', 'echo', 'authenticated'))).toBe('authenticated');
    await hostile.expectHealthy();
  });

  it('still closes a client with a good certificate that then breaks the framing', async () => {
    await hostile.expectBreach('c1', /protocol breach: byte 0xc1 is reserved/);
    await hostile.expectHealthy();
  });
});

describe('tlsHandshakeTimeoutMs with the only free connection slot', () => {
  // Two slots: the bystander's, and the one the truncated handshake takes.
  const hostile = useHostileServer({
    options: { tls: { cert: certs.server.cert, key: certs.server.key }, tlsHandshakeTimeoutMs: HANDSHAKE_MS, maxConnections: 2 },
    tls: trustCa,
  });

  it('a truncated ClientHello holds the slot for the handshake timeout, then it serves a real client', async () => {
    const hello = await captureClientHello();
    const raw = await connectRaw(hostile.port);
    const startedAt = Date.now();
    await raw.write(hello.subarray(0, 5));
    await expect.poll(() => serverConnections(hostile)).toBe(2);
    // The slot is taken: a real client is closed on arrival.
    const refused = await connectRaw(hostile.port);
    expect(await refused.waitClosed(CLOSE_WITHIN_MS)).toBe(true);
    refused.destroy();
    expect(await raw.waitClosed(HANDSHAKE_MS + CLOSE_WITHIN_MS)).toBe(true);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(HANDSHAKE_MS - 50);
    raw.destroy();
    await expect.poll(() => serverConnections(hostile)).toBe(1);
    const served = await TestPeer.connect(hostile.port, trustCa);
    expect(await hostile.ask(served, buildEnvelope('request', 'echo', 'after'))).toBe('after');
    served.destroy();
  });
});
