import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CLIENT_HOST,
  DEFAULT_CON_MAX_RETRIES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  DEFAULT_PEER,
  DEFAULT_PIPELINE,
  DEFAULT_POOL_SIZE,
  DEFAULT_RETRY_BASE_MS,
  resolveClientOptions,
  type ArrpcClientOptions,
} from '../../../lib/index.js';

describe('resolveClientOptions', () => {
  it('fills in every default and freezes the result', () => {
    const resolved = resolveClientOptions({ port: 9000 });
    expect(resolved).toEqual({
      host: DEFAULT_CLIENT_HOST,
      port: 9000,
      timeout: undefined,
      conMaxRetries: DEFAULT_CON_MAX_RETRIES,
      retryBaseMs: DEFAULT_RETRY_BASE_MS,
      authSecret: undefined,
      tlsCaFile: undefined,
      tlsSelfSigned: false,
      tls: undefined,
      poolSize: DEFAULT_POOL_SIZE,
      pipeline: DEFAULT_PIPELINE,
      peer: DEFAULT_PEER,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      debug: false,
      metrics: false,
      metricsPort: undefined,
      registry: undefined,
      metricsHistogram: false,
      metricsMaxErrorReasons: DEFAULT_METRICS_MAX_ERROR_REASONS,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect([DEFAULT_CLIENT_HOST, DEFAULT_CON_MAX_RETRIES, DEFAULT_RETRY_BASE_MS, DEFAULT_PEER]).toEqual(['127.0.0.1', 5, 1000, 'python']);
  });

  it('keeps what is given', () => {
    const given: ArrpcClientOptions = {
      host: 'prices.internal', port: 1, timeout: 0.5, conMaxRetries: 1, retryBaseMs: 0, authSecret: 's', tlsCaFile: '/ca.pem',
      tlsSelfSigned: true, tls: { servername: 'x' }, poolSize: 4, pipeline: 16, peer: 'nestjs-arrpc', maxMessageBytes: 1, debug: true,
      metrics: true, metricsPort: 0, registry: new Registry(), metricsHistogram: { buckets: [0.1, 1] }, metricsMaxErrorReasons: 0,
    };
    const resolved = resolveClientOptions(given);
    expect(resolved).toEqual(given);
    expect(resolved.registry).toBe(given.registry);
    expect(resolveClientOptions({ port: 1, metricsHistogram: true }).metricsHistogram).toBe(true);
    expect(resolveClientOptions({ port: 1, metricsHistogram: {} }).metricsHistogram).toEqual({});
  });

  it('requires the port', () => {
    expect(() => resolveClientOptions({})).toThrow('ArrpcClient option "port" is required');
    expect(() => resolveClientOptions(undefined)).toThrow(/"port"/);
  });

  it.each<[string, ArrpcClientOptions, RegExp]>([
    ['port 0', { port: 0 }, /"port": expected an integer from 1 to 65535, got 0/],
    ['port too high', { port: 65_536 }, /"port".*got 65536/],
    ['port as a string', { port: '80' as never }, /"port".*got "80"/],
    ['empty host', { port: 1, host: '' }, /"host": expected a non-empty string, got ""/],
    ['timeout 0', { port: 1, timeout: 0 }, /"timeout": expected a number of milliseconds above 0, at most 2147483647 \(leave it unset for none\), got 0/],
    ['timeout past a timer', { port: 1, timeout: 2 ** 31 }, /"timeout".*got 2147483648/],
    ['NaN timeout', { port: 1, timeout: NaN }, /"timeout".*got NaN/],
    ['negative timeout', { port: 1, timeout: -1 }, /"timeout".*got -1/],
    ['infinite timeout', { port: 1, timeout: Infinity }, /"timeout".*got Infinity/],
    ['conMaxRetries 0', { port: 1, conMaxRetries: 0 }, /"conMaxRetries": expected an integer from 1 up, got 0/],
    ['fractional conMaxRetries', { port: 1, conMaxRetries: 1.5 }, /"conMaxRetries".*got 1.5/],
    ['negative retryBaseMs', { port: 1, retryBaseMs: -5 }, /"retryBaseMs".*got -5/],
    ['poolSize 0', { port: 1, poolSize: 0 }, /"poolSize".*got 0/],
    ['pipeline 0', { port: 1, pipeline: 0, peer: 'nestjs-arrpc' }, /"pipeline".*got 0/],
    ['maxMessageBytes 0', { port: 1, maxMessageBytes: 0 }, /"maxMessageBytes".*got 0/],
    ['unknown peer', { port: 1, peer: 'java' as never }, /"peer": expected 'python' or 'nestjs-arrpc', got "java"/],
    ['debug as a string', { port: 1, debug: 'yes' as never }, /"debug": expected true or false, got "yes"/],
    ['tls as a string', { port: 1, tls: 'on' as never }, /"tls": expected an object, got "on"/],
    ['empty tlsCaFile', { port: 1, tlsCaFile: '' }, /"tlsCaFile"/],
    ['metrics as a string', { port: 1, metrics: 'yes' as never }, /"metrics": expected true or false, got "yes"/],
    ['metricsPort too high', { port: 1, metricsPort: 65_536 }, /"metricsPort": expected an integer from 0 to 65535, got 65536/],
    ['negative metricsPort', { port: 1, metricsPort: -1 }, /"metricsPort".*got -1/],
    ['a registry that is not one', { port: 1, registry: {} as never }, /"registry": expected a prom-client Registry, got an object/],
    ['metricsHistogram as a string', { port: 1, metricsHistogram: 'on' as never }, /"metricsHistogram": expected a boolean or \{ buckets \}, got "on"/],
    ['decreasing buckets', { port: 1, metricsHistogram: { buckets: [1, 0.5] } }, /"metricsHistogram.buckets": expected a non-empty array of finite, strictly increasing numbers/],
    ['empty buckets', { port: 1, metricsHistogram: { buckets: [] } }, /"metricsHistogram.buckets"/],
    ['negative metricsMaxErrorReasons', { port: 1, metricsMaxErrorReasons: -1 }, /"metricsMaxErrorReasons": expected an integer from 0 up, got -1/],
  ])('refuses %s, naming the option and the value', (_name, options, message) => {
    expect(() => resolveClientOptions(options)).toThrow(TypeError);
    expect(() => resolveClientOptions(options)).toThrow(message);
  });

  it("refuses pipeline > 1 toward a Python peer (the default)", () => {
    expect(() => resolveClientOptions({ port: 1, pipeline: 2 })).toThrow(/"pipeline": 2 needs peer 'nestjs-arrpc'/);
    expect(resolveClientOptions({ port: 1, pipeline: 2, peer: 'nestjs-arrpc' }).pipeline).toBe(2);
  });

  it('refuses tlsSelfSigned without the certificate to trust', () => {
    expect(() => resolveClientOptions({ port: 1, tlsSelfSigned: true })).toThrow(/"tlsSelfSigned" needs "tlsCaFile"/);
  });

  it('refuses an unknown option, so a misspelt one is not silently ignored', () => {
    expect(() => resolveClientOptions({ port: 1, timeoutMs: 5 } as never)).toThrow('Unknown ArrpcClient option "timeoutMs"');
  });

  it('never shows the secret in its error', () => {
    expect(() => resolveClientOptions({ port: 1, authSecret: '' })).toThrow(/"authSecret": expected a non-empty string, got an empty string/);
    expect(() => resolveClientOptions({ port: 1, authSecret: 12345 as never })).toThrow(/got number$/);
  });
});
