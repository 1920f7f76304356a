// The sample, started as docs/sample.md says (`tsc -p tsconfig.sample.json`, then
// `ARRPC_PORT=0 HTTP_PORT=0 node dist/sample/main.js`), reached every way a user would: an
// ArrpcClient, a Python-style client, the CLI, HTTP and /metrics; then stopped with SIGTERM.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstValueFrom } from 'rxjs';
import { ArrpcClient, MessageEncoder, RemoteRpcException, decodeMessage, signMessage } from '../../../lib/index.js';
import { buildSampleAndCli, CLI_ENTRY, SAMPLE_ENTRY } from '../../support/build.js';
import { writeCertFiles, type CertFiles } from '../../support/certs.js';
import { parseExposition, sampleValue } from '../../support/exposition.js';
import { killAll, NodeProcess, runNode } from '../../support/processes.js';
import { pythonStyleCall } from '../../support/python-client.js';
import { startPythonPeer } from '../../support/python-peer.js';

const READY = /^nestjs-arrpc sample ready: arrpc=(\S+):(\d+) http=(\S+):(\d+) upstream=(\S+):(\d+)/;

interface RunningSample {
  readonly process: NodeProcess;
  readonly arrpcPort: number;
  readonly http: string;
}

async function startSample(env: NodeJS.ProcessEnv = {}): Promise<RunningSample> {
  const process = new NodeProcess([SAMPLE_ENTRY], { ARRPC_PORT: '0', HTTP_PORT: '0', ...env });
  const match = await process.waitForLine(READY);
  return { process, arrpcPort: Number(match[2]), http: `http://${match[3]}:${match[4]}` };
}

async function json(response: Promise<Response>): Promise<{ status: number; body: unknown }> {
  const answer = await response;
  return { status: answer.status, body: await answer.json() };
}

beforeAll(() => buildSampleAndCli(), 120_000);
afterAll(() => killAll());

describe('the sample', () => {
  let sample: RunningSample;
  let client: ArrpcClient;

  beforeAll(async () => {
    sample = await startSample();
    client = new ArrpcClient({ port: sample.arrpcPort, timeout: 5000 });
  }, 30_000);
  afterAll(() => client?.close());

  it('answers a plain message on the default pattern, as a Python client sends it', async () => {
    expect(await client.call('arrpc', { sku: 'apple' })).toEqual({ sku: 'apple', price: 1.25 });
    // Read the way the reference's client reads: recv(4096) until a short read.
    const encoder = new MessageEncoder();
    const answer = await pythonStyleCall(sample.arrpcPort, encoder.encode({ sku: 'banana' }));
    expect(decodeMessage(answer as Buffer)).toEqual({ sku: 'banana', price: 0.5 });
    await expect(client.call('arrpc', { foo: 'bar' })).rejects.toThrow('expected a map like {"sku": "apple"}');
  });

  it('answers the named patterns prices.get and prices.list', async () => {
    expect(await client.call('prices.get', 'cherry')).toEqual({ sku: 'cherry', price: 4.75 });
    expect(await client.call('prices.list', null)).toEqual(
      expect.arrayContaining([{ sku: 'apple', price: 1.25 }, { sku: 'cherry', price: 4.75 }]),
    );
    const error = await client.call('prices.get', 'durian').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteRpcException);
    expect((error as RemoteRpcException).message).toBe('no price for "durian"');
  });

  it('takes the price.updated event, acknowledged with nil', async () => {
    expect(await firstValueFrom(client.emit('price.updated', { sku: 'elderberry', price: 7.5 }))).toBeNull();
    expect(await client.call('prices.get', 'elderberry')).toEqual({ sku: 'elderberry', price: 7.5 });
  });

  it('is reachable with the CLI, raw and with --pattern', async () => {
    const raw = await runNode([CLI_ENTRY, 'call', `127.0.0.1:${sample.arrpcPort}`, '{"sku": "apple"}']);
    expect(raw).toMatchObject({ code: 0, stdout: '{"sku":"apple","price":1.25}\n', stderr: '' });
    const named = await runNode([CLI_ENTRY, 'call', `127.0.0.1:${sample.arrpcPort}`, '--pattern', 'prices.get', '"fig"']);
    expect(named).toMatchObject({ code: 1, stdout: '', stderr: 'RemoteRpcException: no price for "fig"\n' });
  });

  it('serves HTTP routes that call arrpc through the injected ArrpcClient', async () => {
    const { http } = sample;
    expect(await json(fetch(`${http}/prices/apple`))).toEqual({ status: 200, body: { sku: 'apple', price: 1.25 } });
    expect(await json(fetch(`${http}/prices/grape`))).toMatchObject({ status: 404, body: { message: 'no price for "grape"' } });
    const put = fetch(`${http}/prices/grape`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"price": 3.25}' });
    expect(await json(put)).toEqual({ status: 200, body: { sku: 'grape', price: 3.25 } });
    const list = await json(fetch(`${http}/prices`));
    expect(list.body).toEqual(expect.arrayContaining([{ sku: 'grape', price: 3.25 }]));
    const raw = fetch(`${http}/arrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"sku": "grape"}' });
    expect(await json(raw)).toEqual({ status: 200, body: { answer: { sku: 'grape', price: 3.25 } } });
    const refused = fetch(`${http}/arrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"foo": 1}' });
    expect(await json(refused)).toMatchObject({ status: 502, body: { error: 'RemoteRpcException', code: 'ARRPC_ERR_REMOTE' } });
  });

  it('serves /health: ArrpcHealthIndicator pings its own arrpc server', async () => {
    const { status, body } = await json(fetch(`${sample.http}/health`));
    const endpoint = `127.0.0.1:${sample.arrpcPort}`;
    expect({ status, body }).toMatchObject({
      status: 200,
      body: { status: 'ok', info: { arrpc: { status: 'up', endpoints: { [endpoint]: { status: 'up', state: 'up' } } } } },
    });
  });

  it('serves /metrics with the arrpc server and client metrics', async () => {
    const response = await fetch(`${sample.http}/metrics`);
    expect(response.status).toBe(200);
    const families = parseExposition(await response.text());
    // The handlers above ran: get at least 4 times (client, CLI, HTTP twice).
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { handler_func: 'get', tls: 'False' })).toBeGreaterThanOrEqual(4);
    expect(sampleValue(families, 'arrpc_server_req_seconds_count', { handler_func: 'lookup' })).toBeGreaterThanOrEqual(3);
    expect(families.has('arrpc_server_errors_total')).toBe(true);
    // The HTTP side's client, calling the sample itself.
    expect(sampleValue(families, 'arrpc_client_req_seconds_count', { remote_address: `127.0.0.1:${sample.arrpcPort}` })).toBeGreaterThanOrEqual(6);
    expect(families.has('process_cpu_user_seconds_total')).toBe(true);
  });

  it('stops on SIGTERM, drained, with exit code 0', async () => {
    await client.close();
    const exit = await sample.process.stop('SIGTERM', 5000);
    expect(exit).toMatchObject({ code: 0, signal: null });
    expect(sample.process.stdout).toContain('nestjs-arrpc sample stopped');
    expect(sample.process.stderr).toBe('');
  });
});

describe('the sample with ARRPC_AUTH_SECRET and TLS', () => {
  let certs: CertFiles;

  beforeAll(async () => {
    certs = await writeCertFiles();
  });
  afterAll(() => certs?.cleanup());

  it('signs and checks every message, and its HTTP side calls itself over TLS', async () => {
    // A self-signed certificate, as `openssl req -x509` makes: the sample's client trusts exactly it.
    const { certFile, keyFile } = certs.files.otherServer;
    const sample = await startSample({ ARRPC_AUTH_SECRET: 's3cret', ARRPC_TLS_CERT_FILE: certFile, ARRPC_TLS_KEY_FILE: keyFile });
    const tls = { tlsCaFile: certFile, tlsSelfSigned: true };
    const client = new ArrpcClient({ port: sample.arrpcPort, timeout: 5000, authSecret: 's3cret', ...tls });
    const unsigned = new ArrpcClient({ port: sample.arrpcPort, timeout: 5000, ...tls });
    try {
      expect(await client.call('prices.get', 'apple')).toEqual({ sku: 'apple', price: 1.25 });
      await expect(unsigned.call('prices.get', 'apple')).rejects.toMatchObject({ code: 'ARRPC_ERR_AUTH' });
      expect(await json(fetch(`${sample.http}/prices/cherry`))).toEqual({ status: 200, body: { sku: 'cherry', price: 4.75 } });
      // /health's own client signs and pins the certificate too.
      expect(await json(fetch(`${sample.http}/health`))).toMatchObject({ status: 200, body: { status: 'ok' } });
      const cli = await runNode([CLI_ENTRY, 'call', `127.0.0.1:${sample.arrpcPort}`, '--tls-ca', certFile, '--self-signed', '--secret', 's3cret', '{"sku": "banana"}']);
      expect(cli).toMatchObject({ code: 0, stdout: '{"sku":"banana","price":0.5}\n' });
    } finally {
      await Promise.all([client.close(), unsigned.close()]);
    }
    expect(await sample.process.stop()).toMatchObject({ code: 0 });
  });
});

describe('the sample with ARRPC_UPSTREAM', () => {
  it('calls a Python-style arrpc server from its HTTP side, raw and signed', async () => {
    const encoder = new MessageEncoder();
    const python = await startPythonPeer({ authSecret: 'shared', handler: (message) => ({ python: 'got it', message }) });
    try {
      const sample = await startSample({ ARRPC_UPSTREAM: `127.0.0.1:${python.port}`, ARRPC_AUTH_SECRET: 'shared' });
      const post = fetch(`${sample.http}/arrpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"foo": "bar"}' });
      expect(await json(post)).toEqual({ status: 200, body: { answer: { python: 'got it', message: { foo: 'bar' } } } });
      // Byte for byte what a Python client signed with the same secret writes.
      const inner = encoder.encode({ foo: 'bar' });
      expect(python.requests.at(-1)).toEqual(Buffer.from(signMessage(encoder, inner, 'shared')));
      expect(await sample.process.stop()).toMatchObject({ code: 0 });
    } finally {
      await python.close();
    }
  });
});
