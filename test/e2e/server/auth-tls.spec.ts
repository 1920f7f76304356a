// Signed and unsigned messages, over plain TCP and TLS (certificate files, in-memory certificates,
// mutual TLS refusing clients without an accepted certificate). Certificates are made at test time.
import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ARRPC_DEFAULT_PATTERN, ArrpcContext, MessageEncoder, buildEnvelope } from '../../../lib/index.js';
import { getTestCerts, writeCertFiles, type CertFiles } from '../../support/certs.js';
import { connectRaw } from '../../support/sockets.js';
import { TestPeer, startServer, type TestServer } from './helpers.js';

const SECRET = 'test-secret';
const AUTH = "arrpc.error.AuthException: Invalid or missing message signature, make sure 'auth_secret' is set/correct";

@Controller()
class WhoController {
  @MessagePattern(ARRPC_DEFAULT_PATTERN)
  plain(@Payload() data: unknown, @Ctx() ctx: ArrpcContext): unknown {
    return { data, signed: ctx.isSigned(), tls: ctx.isTls() };
  }

  @MessagePattern('who')
  who(@Payload() data: unknown, @Ctx() ctx: ArrpcContext): unknown {
    return { data, signed: ctx.isSigned(), tls: ctx.isTls(), pattern: ctx.getPattern() };
  }
}

/** True when the server refuses the TLS client: the handshake fails, or the connection closes unanswered. */
async function refusesTlsClient(port: number, tls: object): Promise<boolean> {
  let peer: TestPeer;
  try {
    peer = await TestPeer.connect(port, tls);
  } catch {
    return true;
  }
  try {
    // TLS 1.3: the client may finish its side of the handshake before the server checks its certificate.
    await peer.send({ hello: 1 }).catch(() => undefined);
    return await peer.next(1000).then(
      () => false,
      () => peer.closed,
    );
  } finally {
    peer.destroy();
  }
}

describe('ArrpcServer with authSecret', () => {
  let server: TestServer;
  let peer: TestPeer;
  beforeAll(async () => {
    server = await startServer([WhoController], { authSecret: SECRET });
  });
  afterAll(() => server.close());
  afterEach(() => peer?.destroy());

  it('serves a signed plain message and tells the handler it was signed', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call({ a: 1 }, SECRET)).toEqual({ data: { a: 1 }, signed: true, tls: false });
  });

  it('routes a signed envelope after checking the signature', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call(buildEnvelope('request', 'who', 5), SECRET)).toEqual({ data: 5, signed: true, tls: false, pattern: 'who' });
  });

  it.each([
    ['an unsigned message', undefined],
    ['a message signed with another secret', 'other-secret'],
  ])('answers AuthException to %s without calling the handler, and keeps the connection', async (_name, secret) => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.call({ a: 1 }, secret)).toBe(AUTH);
    expect(await peer.call(buildEnvelope('request', 'who', 1), secret)).toBe(AUTH);
    expect(await peer.call({ a: 2 }, SECRET)).toMatchObject({ data: { a: 2 } });
  });

  it('needs the signature on arrpc.ping too', async () => {
    peer = await TestPeer.connect(server.port);
    expect(await peer.request('arrpc.ping', null)).toBe(AUTH);
    expect(await peer.call(buildEnvelope('request', 'arrpc.ping', null), SECRET)).toBe('SERVING');
  });

  it('answers AuthException when the signed data is not one MessagePack value', async () => {
    peer = await TestPeer.connect(server.port);
    const encoder = new MessageEncoder();
    const truncated = encoder.encode({ a: 1 }).subarray(0, 2);
    const { createHmac } = await import('node:crypto');
    const signature = createHmac('sha256', SECRET).update(truncated).digest('hex');
    expect(await peer.call({ 'arrpc.sign': signature, data: truncated })).toBe(AUTH);
  });
});

describe('ArrpcServer without authSecret', () => {
  it('hands a signed envelope to the handler unchanged, as the reference does', async () => {
    const server = await startServer([WhoController]);
    const peer = await TestPeer.connect(server.port);
    try {
      const answer = (await peer.call({ a: 1 }, SECRET)) as { data: Record<string, unknown>; signed: boolean };
      expect(Object.keys(answer.data)).toEqual(['arrpc.sign', 'data']);
      expect(answer.signed).toBe(false);
    } finally {
      peer.destroy();
      await server.close();
    }
  });
});

describe('ArrpcServer over TLS', () => {
  const certs = getTestCerts();
  const trustCa = { ca: certs.ca.cert, servername: 'localhost' };
  let files: CertFiles;
  const servers: TestServer[] = [];
  beforeAll(async () => {
    files = await writeCertFiles();
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  afterAll(() => files.cleanup());

  async function start(options: Parameters<typeof startServer>[1]): Promise<TestServer> {
    const server = await startServer([WhoController], options);
    servers.push(server);
    return server;
  }

  it('serves with tlsCertFile / tlsKeyFile, signed and unsigned', async () => {
    const server = await start({ tlsCertFile: files.files.server.certFile, tlsKeyFile: files.files.server.keyFile });
    const peer = await TestPeer.connect(server.port, trustCa);
    try {
      expect(await peer.call({ a: 1 })).toEqual({ data: { a: 1 }, signed: false, tls: true });
      expect(await peer.request('who', 2)).toMatchObject({ data: 2, tls: true });
    } finally {
      peer.destroy();
    }
    const signedServer = await start({
      authSecret: SECRET,
      tlsCertFile: files.files.server.certFile,
      tlsKeyFile: files.files.server.keyFile,
    });
    const signedPeer = await TestPeer.connect(signedServer.port, trustCa);
    try {
      expect(await signedPeer.call({ a: 3 }, SECRET)).toEqual({ data: { a: 3 }, signed: true, tls: true });
      expect(await signedPeer.call({ a: 3 })).toBe(AUTH);
    } finally {
      signedPeer.destroy();
    }
  });

  it('serves with in-memory certificates from the tls option', async () => {
    const server = await start({ tls: { cert: certs.server.cert, key: certs.server.key } });
    const peer = await TestPeer.connect(server.port, trustCa);
    try {
      expect(await peer.call('hi')).toEqual({ data: 'hi', signed: false, tls: true });
    } finally {
      peer.destroy();
    }
  });

  it('answers a TLS peer that ends its side right after writing', async () => {
    const server = await start({ tls: { cert: certs.server.cert, key: certs.server.key } });
    const peer = await TestPeer.connect(server.port, trustCa);
    try {
      await peer.send('last words');
      await peer.raw.end();
      expect(await peer.next()).toMatchObject({ data: 'last words', tls: true });
      expect(await peer.raw.waitClosed()).toBe(true);
    } finally {
      peer.destroy();
    }
  });

  it('makes listen() fail when a certificate file cannot be read', async () => {
    await expect(start({ tlsCertFile: `${files.dir}/missing.crt`, tlsKeyFile: files.files.server.keyFile })).rejects.toThrow(/ENOENT/);
  });

  it('does not answer a plain-TCP client', async () => {
    const server = await start({ tls: { cert: certs.server.cert, key: certs.server.key } });
    const socket = await connectRaw(server.port);
    try {
      // Longer than a TLS record header, so the server reads it as a bad record at once.
      await socket.write(new MessageEncoder().encode({ foo: 'bar' }));
      expect(await socket.waitClosed()).toBe(true);
      expect((await socket.readAvailable(0)).toString('latin1')).not.toContain('foo');
    } finally {
      socket.destroy();
    }
  });

  describe('mutual TLS', () => {
    const mutual = { cert: certs.server.cert, key: certs.server.key, ca: certs.ca.cert, requestCert: true, rejectUnauthorized: true };

    it('serves a client with a certificate from the trusted CA', async () => {
      const server = await start({ tls: mutual });
      const peer = await TestPeer.connect(server.port, { ...trustCa, cert: certs.client.cert, key: certs.client.key });
      try {
        expect(await peer.call({ a: 1 })).toMatchObject({ tls: true });
      } finally {
        peer.destroy();
      }
    });

    it('refuses a client without a certificate', async () => {
      const server = await start({ tls: mutual });
      expect(await refusesTlsClient(server.port, trustCa)).toBe(true);
    });

    it('refuses a client whose certificate comes from another CA', async () => {
      const server = await start({ tls: mutual });
      expect(await refusesTlsClient(server.port, { ...trustCa, cert: certs.otherClient.cert, key: certs.otherClient.key })).toBe(true);
    });
  });
});
