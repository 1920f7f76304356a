import { describe, expect, it } from 'vitest';
import {
  clientOptions,
  readSampleConfig,
  SAMPLE_ARRPC_PORT,
  SAMPLE_HTTP_PORT,
  SampleConfigError,
  selfClientOptions,
  serverOptions,
} from '../../../sample/config.js';

describe('the sample’s environment', () => {
  it('defaults to ports for humans, calling itself, nothing switched on', async () => {
    const config = await readSampleConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', arrpcPort: SAMPLE_ARRPC_PORT, httpPort: SAMPLE_HTTP_PORT, debug: false });
    expect(config.upstream).toEqual({ host: '127.0.0.1', port: SAMPLE_ARRPC_PORT, isSelf: true });
    expect(serverOptions(config)).toMatchObject({ port: SAMPLE_ARRPC_PORT, authSecret: undefined, tlsCertFile: undefined, metrics: true });
  });

  it('picks a free arrpc port for ARRPC_PORT=0 beforehand, so the client can aim at it', async () => {
    const config = await readSampleConfig({ ARRPC_PORT: '0', HTTP_PORT: '0' });
    expect(config.arrpcPort).toBeGreaterThan(0);
    expect(config.upstream.port).toBe(config.arrpcPort);
    expect(config.httpPort).toBe(0);
  });

  it('calls ARRPC_UPSTREAM, and still picks ARRPC_PORT=0 beforehand for /health to check', async () => {
    const config = await readSampleConfig({ ARRPC_PORT: '0', ARRPC_UPSTREAM: '[::1]:8080' });
    expect(clientOptions(config)).toMatchObject({ host: '::1', port: 8080 });
    expect(config.arrpcPort).toBeGreaterThan(0);
    expect(selfClientOptions(config)).toMatchObject({ host: '127.0.0.1', port: config.arrpcPort, peer: 'nestjs-arrpc' });
  });

  it('listens on ARRPC_HOST and, listening everywhere, still calls itself on loopback', async () => {
    const config = await readSampleConfig({ ARRPC_HOST: '0.0.0.0' });
    expect(serverOptions(config)).toMatchObject({ host: '0.0.0.0' });
    expect(config.upstream).toMatchObject({ host: '127.0.0.1', isSelf: true });
    expect(selfClientOptions(config)).toMatchObject({ host: '127.0.0.1' });
  });

  it('balances over every address of the upstream with ARRPC_UPSTREAM_RESOLVE=dns', async () => {
    const config = await readSampleConfig({ ARRPC_UPSTREAM: 'prices.default.svc:4000', ARRPC_UPSTREAM_RESOLVE: 'dns' });
    expect(clientOptions(config)).toMatchObject({ host: 'prices.default.svc', port: 4000, resolve: 'dns' });
    expect(clientOptions(await readSampleConfig({}))).toMatchObject({ resolve: 'none' });
    await expect(readSampleConfig({ ARRPC_UPSTREAM_RESOLVE: 'srv' })).rejects.toThrowError(SampleConfigError);
  });

  it('trusts exactly its own certificate when it calls itself over TLS', async () => {
    const config = await readSampleConfig({ ARRPC_TLS_CERT_FILE: 'server.crt', ARRPC_TLS_KEY_FILE: 'server.key', ARRPC_AUTH_SECRET: 's' });
    expect(clientOptions(config)).toMatchObject({ tlsCaFile: 'server.crt', tlsSelfSigned: true, authSecret: 's' });
    expect(serverOptions(config)).toMatchObject({ tlsCertFile: 'server.crt', tlsKeyFile: 'server.key', authSecret: 's' });
  });

  it("checks its own server, for /health, with its own certificate and secret whatever the upstream is", async () => {
    const env = { ARRPC_UPSTREAM: 'py:8443', ARRPC_TLS_CERT_FILE: 'server.crt', ARRPC_TLS_KEY_FILE: 'server.key', ARRPC_AUTH_SECRET: 's' };
    expect(selfClientOptions(await readSampleConfig(env))).toMatchObject({ tlsCaFile: 'server.crt', tlsSelfSigned: true, authSecret: 's' });
    expect(selfClientOptions(await readSampleConfig({}))).not.toHaveProperty('tlsCaFile');
  });

  it('verifies another upstream with ARRPC_TLS_CA_FILE, pinned with ARRPC_TLS_SELF_SIGNED=1', async () => {
    const env = { ARRPC_UPSTREAM: 'py:8443', ARRPC_TLS_CA_FILE: 'ca.crt' };
    expect(clientOptions(await readSampleConfig(env))).toMatchObject({ tlsCaFile: 'ca.crt', tlsSelfSigned: false });
    expect(clientOptions(await readSampleConfig({ ...env, ARRPC_TLS_SELF_SIGNED: '1' }))).toMatchObject({ tlsSelfSigned: true });
  });

  it.each([
    [{ ARRPC_PORT: '70000' }, 'ARRPC_PORT must be a port from 0 to 65535, got "70000"'],
    [{ HTTP_PORT: 'http' }, 'HTTP_PORT must be a port from 0 to 65535, got "http"'],
    [{ ARRPC_UPSTREAM: 'python' }, 'ARRPC_UPSTREAM must be HOST:PORT, got "python"'],
    [{ ARRPC_TLS_CERT_FILE: 'a.crt' }, 'ARRPC_TLS_CERT_FILE and ARRPC_TLS_KEY_FILE go together'],
    [{ ARRPC_TLS_SELF_SIGNED: '1' }, 'ARRPC_TLS_SELF_SIGNED=1 needs ARRPC_TLS_CA_FILE'],
    [{ ARRPC_DEBUG: 'yes' }, 'ARRPC_DEBUG must be 1 or 0, got "yes"'],
  ])('refuses %j', async (env, message) => {
    await expect(readSampleConfig(env)).rejects.toThrow(new SampleConfigError(message));
  });
});
