// ArrpcClient with `metrics: true`, over real sockets on 127.0.0.1, against this project's
// ArrpcServer and against the Python-like peer; /metrics is scraped over HTTP and compared with the
// reference's client metrics (../shared/arrpc-wire/metrics-client.txt): names, types, HELP, label
// names and value formats exactly, counts and byte sums equal to the requests made.
import { Controller, Inject, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { ExpressAdapter } from '@nestjs/platform-express';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARRPC_DEFAULT_PATTERN,
  ARRPC_METRIC_NAMES,
  ARRPC_METRICS_OTHER_REASON,
  ARRPC_PING_PATTERN,
  ArrpcClient,
  ArrpcMetricsModule,
  ArrpcModule,
  ConnectException,
  ConnectionLostException,
  GUARD_NONCE_BYTES,
  MessageEncoder,
  RemoteRpcException,
  RpcTimeoutException,
  buildEnvelope,
  guardMessage,
  openMetricsServer,
  signMessage,
  widenForPythonReader,
  type ArrpcClientOptions,
} from '../../../lib/index.js';
import { getTestCerts, writeCertFiles, type CertFiles } from '../../support/certs.js';
import { familyShape, parseExposition, referenceFamilies, sampleValue, type Family } from '../../support/exposition.js';
import { startPythonPeer } from '../../support/python-peer.js';
import { unusedPort } from '../../support/sockets.js';
import { itWithWire } from '../../support/vectors.js';
import { EXPECTED_HOSTNAME, EXPECTED_NAMESPACE } from '../../unit/metrics/host.js';
import { errorOf, sleep, useCleanup } from '../client/helpers.js';
import { startServer } from '../server/helpers.js';

const SECRET = 'client-metrics-secret';
const HOST = '127.0.0.1';

@Controller()
class MetricsController {
  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern({ cmd: 'sum' })
  sum(@Payload() values: number[]): number {
    return values.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('fail')
  fail(@Payload() message: string): never {
    throw new RpcException(message);
  }
}

const track = useCleanup();

/** A client recording into `registry`, closed after the test. */
function newClient(registry: Registry, options: ArrpcClientOptions): ArrpcClient {
  return track(new ArrpcClient({ retryBaseMs: 10, metrics: true, registry, ...options }));
}

/** Scrapes `registry` over HTTP, from a standalone listener opened for this one scrape. */
async function scrape(registry: Registry): Promise<Map<string, Family>> {
  const listener = await openMetricsServer({ port: 0, registry, host: HOST });
  try {
    return await scrapePort(listener.port);
  } finally {
    await listener.close();
  }
}

async function scrapePort(port: number): Promise<Map<string, Family>> {
  const response = await fetch(`http://${HOST}:${port}/metrics`);
  expect(response.status).toBe(200);
  return parseExposition(await response.text());
}

/** The bytes an ArrpcClient writes for each request, encoded here with the protocol's own pieces. */
function requestBytes(values: readonly unknown[], secret?: string): number {
  const encoder = new MessageEncoder();
  let total = 0;
  for (const value of values) {
    const inner = encoder.encode(value);
    // Requests to a Python peer are never a multiple of 4096 bytes long: these ones are small.
    total += widenForPythonReader(secret === undefined ? inner : signMessage(encoder, inner, secret)).length;
  }
  return total;
}

/** The labels of every client series toward `port`. */
function endpointLabels(port: number, signed: boolean, tls: boolean): Record<string, string> {
  return {
    hostname: EXPECTED_HOSTNAME,
    k8s_namespace: EXPECTED_NAMESPACE,
    remote_address: `${HOST}:${port}`,
    signed_payload: signed ? 'True' : 'False',
    tls: tls ? 'True' : 'False',
  };
}

describe('ArrpcClient metrics against an ArrpcServer', () => {
  itWithWire('writes the reference’s client families exactly, with counts and byte sums of the requests made', async () => {
    const registry = new Registry();
    const server = track(await startServer([MetricsController], { authSecret: SECRET }));
    const client = newClient(registry, { port: server.port, peer: 'nestjs-arrpc', authSecret: SECRET });

    const started = performance.now();
    expect(await client.call('echo', { n: 1 })).toEqual({ n: 1 });
    expect(await client.call('echo', 'two')).toBe('two');
    const error = await errorOf(client.call('fail', 'boom'));
    const elapsed = (performance.now() - started) / 1000;
    expect(error).toBeInstanceOf(RemoteRpcException);

    const families = await scrape(registry);
    const reference = referenceFamilies('client');
    for (const [name, family] of reference) expect(familyShape(families.get(name)!)).toEqual(familyShape(family));
    // Nothing else but the retry counter (an addition, no series yet): no histogram unless asked.
    expect([...families.keys()].sort()).toEqual([...reference.keys(), ARRPC_METRIC_NAMES.clientRetries].sort());
    expect(families.get(ARRPC_METRIC_NAMES.clientRetries)!.samples).toEqual([]);

    const labels = endpointLabels(server.port, true, false);
    expect(families.get('arrpc_client_req_bytes')!.samples.map((s) => s.labels)).toEqual([labels, labels]);
    // Signed toward a 'nestjs-arrpc' peer, each carries the replay guard: a time and a 16-byte nonce.
    const bytes = requestBytes(
      [buildEnvelope('request', 'echo', { n: 1 }), buildEnvelope('request', 'echo', 'two'), buildEnvelope('request', 'fail', 'boom')].map(
        (envelope) => guardMessage(envelope, Date.now(), new Uint8Array(GUARD_NONCE_BYTES)),
      ),
      SECRET,
    );
    expect(sampleValue(families, 'arrpc_client_req_seconds_count', labels)).toBe(3);
    expect(sampleValue(families, 'arrpc_client_req_bytes_count', labels)).toBe(3);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum', labels)).toBe(bytes);
    const seconds = sampleValue(families, 'arrpc_client_req_seconds_sum', labels)!;
    expect(seconds).toBeGreaterThan(0);
    expect(seconds).toBeLessThanOrEqual(elapsed);
    expect(sampleValue(families, 'arrpc_client_errors_total', { ...labels, reason: 'boom' })).toBe(1);
  });

  it('labels an unsigned client False, and does not count arrpc.ping', async () => {
    const registry = new Registry();
    const server = track(await startServer([MetricsController]));
    const client = newClient(registry, { port: server.port, peer: 'nestjs-arrpc', pipeline: 4 });
    await Promise.all([client.call('echo', 1), client.call('echo', 2), client.call({ cmd: 'sum' }, [1, 2])]);
    expect(await client.call(ARRPC_PING_PATTERN, null)).toBe('SERVING');

    const families = await scrape(registry);
    const labels = endpointLabels(server.port, false, false);
    expect(sampleValue(families, 'arrpc_client_req_seconds_count', labels)).toBe(3);
    const bytes = requestBytes([
      buildEnvelope('request', 'echo', 1),
      buildEnvelope('request', 'echo', 2),
      buildEnvelope('request', { cmd: 'sum' }, [1, 2]),
    ]);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum', labels)).toBe(bytes);
    expect(families.get('arrpc_client_errors_total')!.samples).toEqual([]);
  });

  it('records latency by pattern in the opt-in histogram', async () => {
    const registry = new Registry();
    const server = track(await startServer([MetricsController]));
    const client = newClient(registry, { port: server.port, peer: 'nestjs-arrpc', metricsHistogram: { buckets: [60] } });
    await client.call('echo', 1);
    await client.call({ cmd: 'sum' }, [1, 2]);
    await client.call({ cmd: 'sum' }, [3]);

    const families = await scrape(registry);
    const name = ARRPC_METRIC_NAMES.clientReqDurationSeconds;
    expect(families.get(name)!.type).toBe('histogram');
    const labels = endpointLabels(server.port, false, false);
    expect(sampleValue(families, `${name}_count`, { ...labels, pattern: 'echo' })).toBe(1);
    expect(sampleValue(families, `${name}_count`, { ...labels, pattern: '{"cmd":"sum"}' })).toBe(2);
    expect(sampleValue(families, `${name}_bucket`, { ...labels, pattern: '{"cmd":"sum"}', le: '60' })).toBe(2);
  });
});

describe('ArrpcClient metrics against a Python-like server', () => {
  itWithWire('counts what the peer read: signed requests, errors by reason', async () => {
    const registry = new Registry();
    const peer = track(await startPythonPeer({ authSecret: SECRET }));
    const client = newClient(registry, { port: peer.port, authSecret: SECRET });
    const sent = [{ a: 1 }, { return: 'x' }, { raise: 'boom' }];
    expect(await client.call(ARRPC_DEFAULT_PATTERN, sent[0])).toEqual({ a: 1 });
    expect(await client.call(ARRPC_DEFAULT_PATTERN, sent[1])).toBe('x');
    expect((await errorOf(client.call(ARRPC_DEFAULT_PATTERN, sent[2]))).message).toBe('boom');

    const families = await scrape(registry);
    for (const [name, family] of referenceFamilies('client')) {
      expect(familyShape(families.get(name)!)).toEqual(familyShape(family));
    }
    const labels = endpointLabels(peer.port, true, false);
    const bytes = requestBytes(sent, SECRET);
    expect(peer.requests.reduce((sum, request) => sum + request.length, 0)).toBe(bytes);
    expect(sampleValue(families, 'arrpc_client_req_bytes_count', labels)).toBe(3);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum', labels)).toBe(bytes);
    expect(sampleValue(families, 'arrpc_client_req_seconds_count', labels)).toBe(3);
    expect(sampleValue(families, 'arrpc_client_errors_total', { ...labels, reason: 'boom' })).toBe(1);
  });

  it('counts a timeout and a lost connection with their messages, and bounds distinct reasons', async () => {
    const registry = new Registry();
    const peer = track(
      await startPythonPeer({
        handler: async (value) => {
          if ((value as { slow?: boolean }).slow) await sleep(300);
          if ((value as { crash?: boolean }).crash) throw new Error('crash requested');
          return value;
        },
      }),
    );
    const client = newClient(registry, { port: peer.port, metricsMaxErrorReasons: 1 });
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { slow: true }, { timeoutMs: 50 }))).toBeInstanceOf(RpcTimeoutException);
    expect(await errorOf(client.call(ARRPC_DEFAULT_PATTERN, { crash: true }))).toBeInstanceOf(ConnectionLostException);
    expect(await client.call(ARRPC_DEFAULT_PATTERN, { ok: true })).toEqual({ ok: true });

    const families = await scrape(registry);
    const labels = endpointLabels(peer.port, false, false);
    // Both failed requests were written: they count as requests too, with their bytes.
    expect(sampleValue(families, 'arrpc_client_req_seconds_count', labels)).toBe(3);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum', labels)).toBe(
      requestBytes([{ slow: true }, { crash: true }, { ok: true }]),
    );
    expect(sampleValue(families, 'arrpc_client_errors_total', { ...labels, reason: 'Timed out' })).toBe(1);
    // Past metricsMaxErrorReasons (1), the lost connection's message is counted as `other`.
    expect(sampleValue(families, 'arrpc_client_errors_total', { ...labels, reason: ARRPC_METRICS_OTHER_REASON })).toBe(1);
  });

  describe('over TLS', () => {
    const certs = getTestCerts();
    let files: CertFiles;
    beforeAll(async () => {
      files = await writeCertFiles(certs);
    });
    afterAll(() => files.cleanup());

    it('labels requests tls="True"', async () => {
      const registry = new Registry();
      const peer = track(await startPythonPeer({ tls: { cert: certs.server.cert, key: certs.server.key } }));
      const client = newClient(registry, { port: peer.port, tlsCaFile: files.files.ca.certFile });
      expect(await client.call(ARRPC_DEFAULT_PATTERN, { over: 'tls' })).toEqual({ over: 'tls' });
      expect(await client.call(ARRPC_DEFAULT_PATTERN, [1, 2, 3])).toEqual([1, 2, 3]);

      const families = await scrape(registry);
      const labels = endpointLabels(peer.port, false, true);
      expect(sampleValue(families, 'arrpc_client_req_bytes_count', labels)).toBe(2);
      expect(sampleValue(families, 'arrpc_client_req_bytes_sum', labels)).toBe(requestBytes([{ over: 'tls' }, [1, 2, 3]]));
      expect(sampleValue(families, 'arrpc_client_req_bytes_count', endpointLabels(peer.port, false, false))).toBeUndefined();
    });
  });
});

describe('ArrpcClient metrics without a server', () => {
  it('counts each connection retry and the ConnectException, and no request', async () => {
    const registry = new Registry();
    const port = await unusedPort();
    const client = newClient(registry, { port, conMaxRetries: 3, retryBaseMs: 1 });
    const error = await errorOf(client.call(ARRPC_DEFAULT_PATTERN, 'hello'));
    expect(error).toBeInstanceOf(ConnectException);

    const families = await scrape(registry);
    const labels = endpointLabels(port, false, false);
    expect(familyShape(families.get(ARRPC_METRIC_NAMES.clientRetries)!)).toEqual({
      name: 'arrpc_client_retries_total',
      type: 'counter',
      help: 'RPC client retries',
      samples: ['arrpc_client_retries_total{hostname,k8s_namespace,reason,remote_address,signed_payload,tls}'],
    });
    // Three attempts: two of them are retries.
    expect(sampleValue(families, 'arrpc_client_retries_total', { ...labels, reason: 'connect' })).toBe(2);
    expect(sampleValue(families, 'arrpc_client_errors_total', { ...labels, reason: `Failed to connect to ${HOST}:${port} with 3 attempts` })).toBe(1);
    expect(sampleValue(families, 'arrpc_client_req_seconds_count', labels) ?? 0).toBe(0);
  });

  it('records nothing and times nothing with metrics off, even given a registry', async () => {
    const registry = new Registry();
    const peer = track(await startPythonPeer());
    const client = track(new ArrpcClient({ port: peer.port, registry, metricsPort: 0 }));
    await client.connect();
    expect(await client.call(ARRPC_DEFAULT_PATTERN, 1)).toBe(1);
    expect(registry.getMetricsAsArray()).toEqual([]);
    expect(client.getMetricsPort()).toBeUndefined();
  });
});

describe('the standalone /metrics listener of a client', () => {
  it('opens at connect() on a picked port, serves the client’s metrics and closes with close()', async () => {
    const registry = new Registry();
    const peer = track(await startPythonPeer());
    const client = newClient(registry, { port: peer.port, metricsPort: 0 });
    expect(client.getMetricsPort()).toBeUndefined();
    await client.connect();
    const port = client.getMetricsPort()!;
    expect(port).toBeGreaterThan(0);
    await client.call(ARRPC_DEFAULT_PATTERN, 'one');
    await client.call(ARRPC_DEFAULT_PATTERN, 'two');

    const families = await scrapePort(port);
    expect(sampleValue(families, 'arrpc_client_req_bytes_count', endpointLabels(peer.port, false, false))).toBe(2);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum')).toBe(requestBytes(['one', 'two']));

    await client.close();
    expect(client.getMetricsPort()).toBeUndefined();
    await expect(fetch(`http://${HOST}:${port}/metrics`)).rejects.toThrow();
    // connect() after close() opens it again.
    await client.connect();
    expect(client.getMetricsPort()).toBeGreaterThan(0);
  });

  it('opens at the first call when connect() was never called', async () => {
    const registry = new Registry();
    const peer = track(await startPythonPeer());
    const client = newClient(registry, { port: peer.port, metricsPort: 0 });
    await client.call(ARRPC_DEFAULT_PATTERN, 'first');
    await expect.poll(() => client.getMetricsPort()).toBeGreaterThan(0);
    const families = await scrapePort(client.getMetricsPort()!);
    expect(sampleValue(families, 'arrpc_client_req_bytes_count')).toBe(1);
  });

  it('makes connect() reject when the port is served for another registry', async () => {
    const other = await openMetricsServer({ port: 0, registry: new Registry() });
    try {
      const peer = track(await startPythonPeer());
      const client = newClient(new Registry(), { port: peer.port, metricsPort: other.port });
      await expect(client.connect()).rejects.toThrow(/already served in this process for another prom-client registry/);
      expect(client.getMetricsPort()).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});

describe('a server and a client in one process', () => {
  itWithWire('share one registry and one metricsPort listener: one scrape shows both', async () => {
    const registry = new Registry();
    const server = track(await startServer([MetricsController], { metrics: true, metricsPort: 0, registry }));
    const metricsPort = server.server.getMetricsPort()!;
    expect(metricsPort).toBeGreaterThan(0);
    // Two clients and the server on one registry: no "already registered" error.
    const client = newClient(registry, { port: server.port, peer: 'nestjs-arrpc', metricsPort });
    const second = newClient(registry, { port: server.port, peer: 'nestjs-arrpc', metricsPort });
    await client.connect();
    await second.connect();
    expect([client.getMetricsPort(), second.getMetricsPort()]).toEqual([metricsPort, metricsPort]);

    await client.call('echo', 'a');
    await client.call('echo', 'b');
    await second.call('echo', 'c');
    await errorOf(second.call('fail', 'boom'));

    const families = await scrapePort(metricsPort);
    for (const side of ['server', 'client'] as const) {
      for (const [name, family] of referenceFamilies(side)) {
        expect(familyShape(families.get(name)!)).toEqual(familyShape(family));
      }
    }
    const labels = endpointLabels(server.port, false, false);
    const bytes = requestBytes(['a', 'b', 'c'].map((s) => buildEnvelope('request', 'echo', s)).concat(buildEnvelope('request', 'fail', 'boom')));
    // Both clients have the same labels: one series, four requests.
    expect(sampleValue(families, 'arrpc_client_req_bytes_count', labels)).toBe(4);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum', labels)).toBe(bytes);
    expect(sampleValue(families, 'arrpc_client_errors_total', { ...labels, reason: 'boom' })).toBe(1);
    // The server read the very bytes the clients wrote.
    const serverCount = families.get('arrpc_server_req_bytes')!.samples.filter((s) => s.name === 'arrpc_server_req_bytes_count');
    expect(serverCount.reduce((sum, s) => sum + s.value, 0)).toBe(4);
    const serverSum = families.get('arrpc_server_req_bytes')!.samples.filter((s) => s.name === 'arrpc_server_req_bytes_sum');
    expect(serverSum.reduce((sum, s) => sum + s.value, 0)).toBe(bytes);
    expect(sampleValue(families, 'arrpc_server_errors_total', { reason: 'boom' })).toBe(1);

    // The listener stays while anyone holds it, and closes with the last.
    await client.close();
    await second.close();
    expect((await fetch(`http://${HOST}:${metricsPort}/metrics`)).status).toBe(200);
    await server.close();
    await expect(fetch(`http://${HOST}:${metricsPort}/metrics`)).rejects.toThrow();
  });
});

describe('in a hybrid Nest app', () => {
  it('serves an injected ArrpcModule client’s metrics at the PrometheusModule endpoint', async () => {
    const registry = new Registry();
    const server = track(await startServer([MetricsController]));

    @Controller()
    class Caller {
      constructor(@Inject(ArrpcClient) readonly client: ArrpcClient) {}
    }
    @Module({
      imports: [
        ArrpcMetricsModule.forRoot({ registry, defaultMetrics: false }),
        ArrpcModule.forRoot({ port: server.port, peer: 'nestjs-arrpc', metrics: true, registry }),
      ],
      controllers: [Caller],
    })
    class AppModule {}
    const app: INestApplication = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
    track(app);
    await app.listen(0, HOST);

    await app.get(Caller).client.call('echo', 'via nest');
    const response = await fetch(`${await app.getUrl()}/metrics`);
    expect(response.status).toBe(200);
    const families = parseExposition(await response.text());
    const labels = endpointLabels(server.port, false, false);
    expect(sampleValue(families, 'arrpc_client_req_bytes_count', labels)).toBe(1);
    expect(sampleValue(families, 'arrpc_client_req_bytes_sum', labels)).toBe(requestBytes([buildEnvelope('request', 'echo', 'via nest')]));
  });
});
