import { createServer, type Server } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createClientMetricsRecorder,
  createServerMetricsRecorder,
  openMetricsServer,
  type MetricsServerHandle,
} from '../../../lib/index.js';
import { familyShape, parseExposition, referenceFamilies, sampleValue } from '../../support/exposition.js';
import { itWithWire } from '../../support/vectors.js';

const HOST = '127.0.0.1';
const opened: MetricsServerHandle[] = [];

async function open(port: number, registry: Registry): Promise<MetricsServerHandle> {
  const handle = await openMetricsServer({ port, registry, host: HOST });
  opened.push(handle);
  return handle;
}

function url(port: number, path = '/metrics'): string {
  return `http://${HOST}:${port}${path}`;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((handle) => handle.close()));
});

describe('standalone /metrics listener', () => {
  itWithWire('serves the registry over HTTP on a picked port, in the reference’s shape', async () => {
    const registry = new Registry();
    const server = createServerMetricsRecorder({ registry }).forConnection('127.0.0.1', false);
    const client = createClientMetricsRecorder({ registry }).forEndpoint(`${HOST}:36333`, true, false);
    for (let i = 0; i < 3; i++) {
      server.request('handler', 'arrpc', true, 0.001, 95);
      client.request('arrpc', 0.002, 95);
    }
    server.error('handler', true, 'boom');
    client.error('boom');

    const { port } = await open(0, registry);
    expect(port).toBeGreaterThan(0);
    const response = await fetch(url(port));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(registry.contentType);
    const families = parseExposition(await response.text());

    for (const side of ['server', 'client'] as const) {
      for (const [name, family] of referenceFamilies(side)) {
        expect(familyShape(families.get(name)!)).toEqual(familyShape(family));
      }
    }
    expect(sampleValue(families, 'arrpc_server_req_bytes_count')).toBe(3);
    expect(sampleValue(families, 'arrpc_server_req_bytes_sum')).toBe(285);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum')).toBe(285);
    expect(sampleValue(families, 'arrpc_server_errors_total', { reason: 'boom', signed_payload: 'True' })).toBe(1);
    expect(sampleValue(families, 'arrpc_client_errors_total', { reason: 'boom', signed_payload: 'True' })).toBe(1);
  });

  it('answers HEAD without a body, 404 elsewhere and 405 to other methods', async () => {
    const { port } = await open(0, new Registry());
    const head = await fetch(url(port), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect((await fetch(url(port, '/metrics?name[]=x'))).status).toBe(200);
    expect((await fetch(url(port, '/'))).status).toBe(404);
    const post = await fetch(url(port), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('is shared by everyone on one port and closes when the last one closes', async () => {
    const registry = new Registry();
    createServerMetricsRecorder({ registry }).forConnection('10.0.0.1', false).request('h', 'p', false, 1, 42);
    const first = await open(0, registry);
    const second = await open(first.port, registry);
    expect(second.port).toBe(first.port);

    await first.close();
    await first.close(); // a second close of the same share changes nothing
    const body = await (await fetch(url(second.port))).text();
    expect(sampleValue(parseExposition(body), 'arrpc_server_req_bytes_sum')).toBe(42);

    await second.close();
    await expect(fetch(url(second.port))).rejects.toThrow();

    // The port is free again: a new listener can take it.
    const again = await open(second.port, registry);
    expect((await fetch(url(again.port))).status).toBe(200);
  });

  it('shares a port asked for by number between users who open it at the same time', async () => {
    const registry = new Registry();
    const probe = await open(0, registry);
    const port = probe.port;
    await probe.close();
    const [a, b] = await Promise.all([open(port, registry), open(port, registry)]);
    expect([a.port, b.port]).toEqual([port, port]);
    await a.close();
    expect((await fetch(url(port))).status).toBe(200);
  });

  it('refuses a second registry on a port already served', async () => {
    const { port } = await open(0, new Registry());
    await expect(openMetricsServer({ port, registry: new Registry(), host: HOST })).rejects.toThrow(
      /Metrics port \d+ is already served in this process for another prom-client registry/,
    );
  });

  it('rejects when the port is taken by someone else, and refuses bad ports', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, HOST, resolve));
    const { port } = blocker.address() as { port: number };
    try {
      await expect(openMetricsServer({ port, registry: new Registry(), host: HOST })).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    await expect(openMetricsServer({ port: -1 })).rejects.toThrow(/Invalid metrics server option "port": expected an integer from 0 to 65535, got -1/);
    await expect(openMetricsServer({ port: 70_000 })).rejects.toThrow(TypeError);
  });
});
