import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTestCerts, writeCertFiles, type CertPair } from '../../support/certs.js';

// The TLS e2e tests trust these certificates to fail for the right reason, so each claim in
// certs.ts is checked here with a real handshake on loopback.
describe('test certificates', () => {
  const certs = getTestCerts();
  let server: tls.Server;
  let port = 0;
  let serverPair: CertPair = certs.server;

  beforeAll(async () => {
    server = tls.createServer({
      SNICallback: (_name, cb) => cb(null, tls.createSecureContext({ ...serverPair, ca: certs.ca.cert })),
      ...certs.server,
      requestCert: true,
      rejectUnauthorized: false,
      ca: certs.ca.cert,
    });
    server.on('secureConnection', (socket) => {
      socket.end(socket.authorized ? 'client-ok' : 'client-refused');
    });
    server.on('tlsClientError', () => {});
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Connects and returns the server's verdict on the client, or the client-side error code. */
  function handshake(options: tls.ConnectionOptions, pair: CertPair = certs.server): Promise<string> {
    serverPair = pair;
    return new Promise((resolve) => {
      const socket = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ...options });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
  }

  it('server cert is accepted by a client trusting the CA, by IP and by name', async () => {
    expect(await handshake({ ca: certs.ca.cert, servername: undefined })).toBe('client-refused');
    expect(await handshake({ ca: certs.ca.cert, host: 'localhost' })).toBe('client-refused');
  });

  it('the unrelated self-signed cert is refused by a client trusting the CA, accepted when pinned', async () => {
    expect(await handshake({ ca: certs.ca.cert }, certs.otherServer)).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(await handshake({ ca: certs.otherServer.cert }, certs.otherServer)).toBe('client-refused');
  });

  it('client certs: signed by the CA accepted, from the other CA refused', async () => {
    expect(await handshake({ ca: certs.ca.cert, ...certs.client })).toBe('client-ok');
    expect(await handshake({ ca: certs.ca.cert, ...certs.otherClient })).toBe('client-refused');
  });

  it('writes PEM files and removes them', async () => {
    const written = await writeCertFiles();
    expect(await readFile(written.files.server.certFile, 'utf8')).toBe(certs.server.cert);
    expect(await readFile(written.files.ca.keyFile, 'utf8')).toBe(certs.ca.key);
    await written.cleanup();
    await expect(readFile(written.files.server.certFile)).rejects.toThrow(/ENOENT/);
  });

  it('is generated once per process', () => {
    expect(getTestCerts()).toBe(certs);
  });
});
