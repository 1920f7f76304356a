// TLS toward a Python-like (echoing) server: a CA file, self-signed pinning (exactly the given certificate,
// host name not checked, anything else refused) and mutual TLS with a client certificate.
import { lookup as dnsLookup } from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, ArrpcErrorCode, ConnectException, type ArrpcClientOptions, type ArrpcLookup } from '../../../lib/index.js';
import { getTestCerts, writeCertFiles, type CertFiles, type CertPair } from '../../support/certs.js';
import { clientFactory, errorOf, startTlsEchoServer, useCleanup } from './helpers.js';

const certs = getTestCerts();
let files: CertFiles;
beforeAll(async () => {
  files = await writeCertFiles(certs);
});
afterAll(() => files.cleanup());

const track = useCleanup();
const newClient = clientFactory(track);

/** A TLS echo server presenting `pair`; returns the port. */
async function tlsPeer(pair: CertPair, extra: object = {}): Promise<number> {
  return track(await startTlsEchoServer({ cert: pair.cert, key: pair.key, ...extra })).port;
}

/** One echo call through a client with `options`. */
async function echo(port: number, options: ArrpcClientOptions): Promise<unknown> {
  return newClient({ port, conMaxRetries: 1, ...options }).call(ARRPC_DEFAULT_PATTERN, { over: 'tls' });
}

describe('tlsCaFile', () => {
  it('verifies the server against the CA file', async () => {
    const port = await tlsPeer(certs.server);
    expect(await echo(port, { tlsCaFile: files.files.ca.certFile })).toEqual({ over: 'tls' });
  });

  it('refuses a server whose certificate the CA file did not sign', async () => {
    const port = await tlsPeer(certs.server);
    const error = await errorOf(echo(port, { tlsCaFile: files.files.otherCa.certFile }));
    expect(error).toBeInstanceOf(ConnectException);
    expect(error.cause.code).toMatch(/CERT|SIGNATURE|ISSUER/);
  });

  it('checks the host name', async () => {
    const port = await tlsPeer(certs.server);
    const error = await errorOf(echo(port, { tlsCaFile: files.files.ca.certFile, tls: { servername: 'elsewhere.example' } }));
    expect(error.cause.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('fails at construction when the file cannot be read, naming the option', () => {
    expect(() => newClient({ port: 1, tlsCaFile: `${files.dir}/missing.crt` })).toThrow(/"tlsCaFile".*missing\.crt/);
  });
});

describe("resolve: 'dns' with TLS", () => {
  // The system's own lookup, kept to IPv4: the test server listens on 127.0.0.1 only.
  const lookupIpv4: ArrpcLookup = (hostname, options, callback) => dnsLookup(hostname, { ...options, family: 4 }, callback);

  it('sends the host name as SNI and checks the certificate against it, not against the address dialled', async () => {
    const names: string[] = [];
    const port = await tlsPeer(certs.namedServer, {
      SNICallback: (name: string, done: (error: Error | null) => void) => {
        names.push(name);
        done(null);
      },
    });
    const options = { host: 'localhost', resolve: 'dns', lookup: lookupIpv4, tlsCaFile: files.files.ca.certFile } as const;
    expect(await echo(port, options)).toEqual({ over: 'tls' });
    expect(names).toEqual(['localhost']);
  });

  it('keeps a servername given through the tls option', async () => {
    const port = await tlsPeer(certs.namedServer);
    const options = { host: 'localhost', resolve: 'dns', lookup: lookupIpv4, tlsCaFile: files.files.ca.certFile, tls: { servername: 'elsewhere.example' } } as const;
    expect((await errorOf(echo(port, options))).cause.code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });
});

describe('tlsSelfSigned', () => {
  it('trusts exactly the given self-signed certificate, whatever the host name', async () => {
    const port = await tlsPeer(certs.otherServer);
    const options = { tlsCaFile: files.files.otherServer.certFile, tlsSelfSigned: true };
    expect(await echo(port, options)).toEqual({ over: 'tls' });
    expect(await echo(port, { ...options, tls: { servername: 'elsewhere.example' } })).toEqual({ over: 'tls' });
  });

  it('refuses a server presenting any other certificate', async () => {
    const port = await tlsPeer(certs.server);
    const error = await errorOf(echo(port, { tlsCaFile: files.files.otherServer.certFile, tlsSelfSigned: true }));
    expect(error).toBeInstanceOf(ConnectException);
  });

  it('refuses even a certificate that chains to the pinned one: pinning is exact', async () => {
    // The CA signed the server certificate, so the chain verifies; the certificate is not the CA's own.
    const port = await tlsPeer(certs.server);
    const error = await errorOf(echo(port, { tlsCaFile: files.files.ca.certFile, tlsSelfSigned: true }));
    expect(error).toBeInstanceOf(ConnectException);
    expect(error.cause.code).toBe('ERR_ARRPC_CERT_NOT_PINNED');
  });

  it('never turns verification off, whatever the tls passthrough says', async () => {
    const port = await tlsPeer(certs.server);
    const options = { tlsCaFile: files.files.otherServer.certFile, tlsSelfSigned: true, tls: { rejectUnauthorized: false } };
    expect(await errorOf(echo(port, options))).toBeInstanceOf(ConnectException);
  });
});

describe('mutual TLS', () => {
  const requireClientCert = { ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true };

  it('presents the client certificate given through the tls option', async () => {
    const port = await tlsPeer(certs.server, requireClientCert);
    const tls = { cert: certs.client.cert, key: certs.client.key };
    expect(await echo(port, { tlsCaFile: files.files.ca.certFile, tls })).toEqual({ over: 'tls' });
  });

  it.each([
    ['no client certificate', {}],
    ['a certificate from another CA', { cert: certs.otherClient.cert, key: certs.otherClient.key }],
  ])('is refused by the server with %s', async (_name, tls) => {
    const port = await tlsPeer(certs.server, requireClientCert);
    const error = await errorOf(echo(port, { tlsCaFile: files.files.ca.certFile, tls, timeout: 1000 }));
    // TLS 1.3 finishes the client's handshake before the server checks the certificate, so the
    // refusal arrives either while connecting or after the request was written.
    expect([ArrpcErrorCode.Connect, ArrpcErrorCode.ConnectionLost]).toContain(error.code);
  });
});
