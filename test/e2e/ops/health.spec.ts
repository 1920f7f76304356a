// ArrpcHealthIndicator in a real Nest HTTP app with TerminusModule: every check is a round trip
// over a real socket (arrpc.ping toward ArrpcServers, the probe toward Python servers), per
// endpoint, and a draining server reports down.
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { describe, expect, it } from 'vitest';
import { ArrpcClient, ArrpcServerStatus } from '../../../lib/index.js';
import { clientFactory, startHttpServer, useCleanup } from '../client/helpers.js';
import { getTestCerts } from '../../support/certs.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { unusedPort } from '../../support/sockets.js';
import { sleep, startServer } from '../server/helpers.js';
import { startHealthApp, startSilentServer, waitFor } from './helpers.js';

let slowCalls = 0;

@Controller()
class BackendController {
  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('slow')
  async slow(@Payload() ms: number): Promise<string> {
    slowCalls++;
    await sleep(ms);
    return 'done';
  }

  /** Never answers. */
  @MessagePattern('hang')
  hang(): Promise<never> {
    return new Promise(() => {});
  }
}

const CHECK_TIMEOUT_MS = 300;

describe('ArrpcHealthIndicator behind a terminus /health route', () => {
  const track = useCleanup();
  const client = clientFactory(track);

  it('reports up against a live ArrpcServer, naming the endpoint and its state', async () => {
    const server = track(await startServer([BackendController]));
    const health = track(await startHealthApp(client({ port: server.port, peer: 'nestjs-arrpc' }), { timeout: CHECK_TIMEOUT_MS }));

    const { httpStatus, body } = await health.health();

    expect(httpStatus).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.details['backend']).toMatchObject({
      status: 'up',
      endpoints: { [`127.0.0.1:${server.port}`]: { status: 'up', state: 'up', clientState: 'idle' } },
    });
  });

  it('reports down with the reason once the server is stopped', async () => {
    const server = await startServer([BackendController], { drainTimeoutMs: 100 });
    const health = track(await startHealthApp(client({ port: server.port, peer: 'nestjs-arrpc' }), { timeout: CHECK_TIMEOUT_MS }));
    expect((await health.health()).httpStatus).toBe(200);

    await server.close();
    const { httpStatus, body } = await health.health();

    expect(httpStatus).toBe(503);
    expect(body.status).toBe('error');
    const endpoint = body.details['backend']!.endpoints![`127.0.0.1:${server.port}`];
    expect(endpoint).toMatchObject({ status: 'down', state: 'down' });
    expect(endpoint.message).toMatch(/ECONNREFUSED/);
    expect(body.details['backend']!.message).toContain(`127.0.0.1:${server.port} down: `);
  });

  it('reports draining (down) during a slow close, and down once the server is gone', async () => {
    slowCalls = 0;
    const server = await startServer([BackendController], { drainTimeoutMs: 5000 });
    const statuses: string[] = [];
    server.server.status.subscribe((status) => statuses.push(status));
    const backend = client({ port: server.port, peer: 'nestjs-arrpc' });
    const health = track(await startHealthApp(backend, { timeout: CHECK_TIMEOUT_MS }));
    expect((await health.health()).body.details['backend']!.status).toBe('up');

    const slow = backend.call('slow', 600);
    await waitFor(() => slowCalls === 1, 2000, 'the slow handler started');
    const started = performance.now();
    const closing = server.close();
    expect(statuses).toContain(ArrpcServerStatus.Draining);

    const during = await health.health();
    expect(during.httpStatus).toBe(503);
    expect(during.body.details['backend']).toMatchObject({
      status: 'down',
      // Draining, or refused: the draining server closed the checker's idle connection after its notice.
      endpoints: { [`127.0.0.1:${server.port}`]: { status: 'down' } },
    });

    // The request received before close() is still answered; then the client lets go and the drain ends.
    expect(await slow).toBe('done');
    await backend.close();
    await closing;
    expect(performance.now() - started).toBeLessThan(5000);

    const after = await health.health();
    expect(after.httpStatus).toBe(503);
    expect(after.body.details['backend']!.endpoints![`127.0.0.1:${server.port}`]).toMatchObject({ status: 'down', state: 'down' });
  });

  it('is a real round trip: a server whose handlers hang still answers arrpc.ping', async () => {
    const server = track(await startServer([BackendController], { drainTimeoutMs: 100 }));
    const backend = client({ port: server.port, peer: 'nestjs-arrpc', timeout: 5000 });
    const health = track(await startHealthApp(backend, { timeout: CHECK_TIMEOUT_MS }));
    const hanging = Promise.allSettled([backend.call('hang', null), backend.call('hang', null)]);
    await sleep(50);

    const { httpStatus, body } = await health.health();

    expect(httpStatus).toBe(200);
    expect(body.details['backend']!.endpoints![`127.0.0.1:${server.port}`]).toMatchObject({ status: 'up', state: 'up', clientState: 'up' });
    await backend.close();
    await hanging;
  });

  it('is a real round trip: a socket that accepts but never answers is down within the timeout', async () => {
    const silent = track(await startSilentServer());
    const health = track(await startHealthApp(client({ port: silent.port, peer: 'nestjs-arrpc' }), { timeout: CHECK_TIMEOUT_MS }));

    const started = performance.now();
    const { httpStatus, body } = await health.health();
    const elapsed = performance.now() - started;

    expect(httpStatus).toBe(503);
    const endpoint = body.details['backend']!.endpoints![`127.0.0.1:${silent.port}`];
    expect(endpoint).toMatchObject({ status: 'down', state: 'down' });
    expect(endpoint.message).toMatch(/^no answer within \d+ ms$/);
    expect(elapsed).toBeGreaterThanOrEqual(CHECK_TIMEOUT_MS - 20);
    expect(elapsed).toBeLessThan(CHECK_TIMEOUT_MS + 700);
  });

  it('names every endpoint of a many-server client: degraded with one up and one ejected', async () => {
    const server = track(await startServer([BackendController]));
    const dead = await unusedPort();
    const backend = client({
      endpoints: [`127.0.0.1:${server.port}`, `127.0.0.1:${dead}`],
      peer: 'nestjs-arrpc',
      ejectAfterFailures: 1,
      conMaxRetries: 1,
      ejectionBackoffMs: 60_000,
      ejectionBackoffMaxMs: 60_000,
    });
    await backend.connect();
    await waitFor(() => backend.unwrap().endpoints.some((endpoint) => endpoint.state === 'ejected'), 2000, 'the dead endpoint ejected');
    const health = track(await startHealthApp(backend, { timeout: CHECK_TIMEOUT_MS }));

    const { httpStatus, body } = await health.health();

    expect(httpStatus).toBe(200);
    expect(body.status).toBe('degraded');
    expect(body.details['backend']).toMatchObject({
      status: 'degraded',
      endpoints: {
        [`127.0.0.1:${server.port}`]: { status: 'up', state: 'up', clientState: 'up' },
        [`127.0.0.1:${dead}`]: { status: 'down', state: 'ejected', clientState: 'ejected' },
      },
    });
    expect(body.details['backend']!.endpoints![`127.0.0.1:${dead}`].message).toMatch(/ECONNREFUSED/);
  });

  it('checks with the secret and TLS of the client', async () => {
    const certs = getTestCerts();
    const secret = 'health-secret';
    const server = track(await startServer([BackendController], { authSecret: secret, tls: { cert: certs.server.cert, key: certs.server.key } }));
    const tls = { ca: certs.ca.cert, servername: 'localhost' };
    const good = track(await startHealthApp(client({ port: server.port, peer: 'nestjs-arrpc', authSecret: secret, tls })));
    const wrong = track(await startHealthApp(client({ port: server.port, peer: 'nestjs-arrpc', authSecret: 'other', tls })));

    expect((await good.health()).body.details['backend']!.status).toBe('up');
    const refused = (await wrong.health()).body.details['backend']!;
    expect(refused.status).toBe('down');
    expect(refused.endpoints![`127.0.0.1:${server.port}`].message).toMatch(/^answered AuthException: Invalid or missing message signature/);
  });

  it('sends the probe toward a Python server: the client\'s, or the check\'s own', async () => {
    const peer = track(
      await startPythonPeer({
        handler: (message) => ((message as { cmd?: string }).cmd === 'ping' ? 'pong' : 'unexpected'),
      }),
    );
    const address = `127.0.0.1:${peer.port}`;
    const withClientProbe = track(await startHealthApp(client({ port: peer.port, probe: { message: { cmd: 'ping' }, expect: 'pong' } })));
    const withCheckProbe = track(await startHealthApp(client({ port: peer.port }), { probe: { message: { cmd: 'ping' }, expect: 'pong' } }));
    const wrongAnswer = track(await startHealthApp(client({ port: peer.port }), { probe: { message: { cmd: 'status' }, expect: 'pong' } }));

    expect((await withClientProbe.health()).body.details['backend']!.endpoints![address]).toMatchObject({ status: 'up' });
    expect((await withCheckProbe.health()).body.details['backend']!.endpoints![address]).toMatchObject({ status: 'up' });
    const refused = (await wrongAnswer.health()).body.details['backend']!.endpoints![address];
    expect(refused).toMatchObject({ status: 'down', state: 'down' });
    expect(refused.message).toContain('not the expected answer');
    // Raw on the default pattern, as a Python client writes it: no envelope, no ping.
    expect(peer.requests.length).toBeGreaterThanOrEqual(3);
  });

  it('reports down a server that is not arrpc at all, though any answer would do: an HTTP server on the port', async () => {
    const http = track(await startHttpServer());
    const health = track(await startHealthApp(client({ port: http.port, probe: { message: { cmd: 'ping' } } }), { timeout: CHECK_TIMEOUT_MS }));

    const { httpStatus, body } = await health.health();

    expect(httpStatus).toBe(503);
    const endpoint = body.details['backend']!.endpoints![`127.0.0.1:${http.port}`];
    expect(endpoint).toMatchObject({ status: 'down', state: 'down' });
    expect(endpoint.message).toMatch(/bytes past the answer to the request in flight/);
  });

  it('refuses to check a Python server without a probe: a connection alone proves nothing', async () => {
    const peer = track(await startPythonPeer());
    const health = track(await startHealthApp(client({ port: peer.port })));

    await expect(health.indicator.pingCheck('backend', track(new ArrpcClient({ port: peer.port })))).rejects.toThrow(/^Invalid ArrpcHealthIndicator option "probe": required for a peer .python. client/);
    expect((await health.health()).httpStatus).toBe(500);
    expect(peer.connections).toBe(0);
  });

  it('refuses a bad timeout', async () => {
    const health = track(await startHealthApp(client({ port: 1, peer: 'nestjs-arrpc' })));
    await expect(health.indicator.pingCheck('backend', client({ port: 1, peer: 'nestjs-arrpc' }), { timeout: 0 })).rejects.toThrow(
      /^Invalid ArrpcHealthIndicator option "timeout": expected a number of milliseconds above 0, at most 2147483647, got 0$/,
    );
  });
});
