import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_PER_CONNECTION,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  DEFAULT_SERVER_HOST,
  DEFAULT_SERVER_PORT,
  resolveServerOptions,
  type ArrpcServerOptions,
} from '../../../lib/index.js';

describe('resolveServerOptions', () => {
  it('fills every default from the named constants and freezes the result', () => {
    const resolved = resolveServerOptions();
    expect(resolved).toEqual({
      host: DEFAULT_SERVER_HOST,
      port: DEFAULT_SERVER_PORT,
      authSecret: undefined,
      tlsCertFile: undefined,
      tlsKeyFile: undefined,
      tls: undefined,
      useTls: false,
      debug: false,
      resolvePattern: undefined,
      maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
      maxDepth: DEFAULT_MAX_DEPTH,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      incompleteMessageTimeoutMs: DEFAULT_INCOMPLETE_MESSAGE_TIMEOUT_MS,
      idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      maxConcurrentPerConnection: DEFAULT_MAX_CONCURRENT_PER_CONNECTION,
      drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_MS,
      metrics: false,
      metricsPort: undefined,
      registry: undefined,
      metricsHistogram: false,
      metricsMaxErrorReasons: DEFAULT_METRICS_MAX_ERROR_REASONS,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('keeps given values, 0 where 0 turns a limit off', () => {
    const resolvePattern = () => undefined;
    const resolved = resolveServerOptions({
      host: '0.0.0.0',
      port: 8080,
      authSecret: 's',
      debug: true,
      resolvePattern,
      maxConnections: 0,
      incompleteMessageTimeoutMs: 0,
      idleTimeoutMs: 0,
      drainTimeoutMs: 0,
      maxConcurrentPerConnection: 1,
    });
    expect(resolved).toMatchObject({ host: '0.0.0.0', port: 8080, authSecret: 's', debug: true, resolvePattern, maxConnections: 0 });
  });

  it('turns TLS on with the file pair, or with tls holding a certificate, and copies tls frozen', () => {
    expect(resolveServerOptions({ tlsCertFile: 'a.crt', tlsKeyFile: 'a.key' }).useTls).toBe(true);
    const tls = { cert: 'C', key: 'K', requestCert: true };
    const resolved = resolveServerOptions({ tls });
    expect(resolved.useTls).toBe(true);
    expect(resolved.tls).toEqual(tls);
    expect(resolved.tls).not.toBe(tls);
    expect(Object.isFrozen(resolved.tls)).toBe(true);
    expect(resolveServerOptions({ tls: { requestCert: true }, tlsCertFile: 'a.crt', tlsKeyFile: 'a.key' }).useTls).toBe(true);
  });

  it('keeps the metrics options, copying histogram buckets frozen', () => {
    const registry = new Registry();
    const buckets = [0.01, 0.1, 1];
    const resolved = resolveServerOptions({
      metrics: true,
      metricsPort: 0,
      registry,
      metricsHistogram: { buckets },
      metricsMaxErrorReasons: 0,
    });
    expect(resolved).toMatchObject({ metrics: true, metricsPort: 0, registry, metricsHistogram: { buckets }, metricsMaxErrorReasons: 0 });
    expect(resolved.registry).toBe(registry);
    const histogram = resolved.metricsHistogram as { buckets: number[] };
    expect(histogram.buckets).not.toBe(buckets);
    expect(Object.isFrozen(histogram.buckets)).toBe(true);
    expect(resolveServerOptions({ metricsHistogram: true }).metricsHistogram).toBe(true);
    expect(resolveServerOptions({ metricsHistogram: {} }).metricsHistogram).toEqual({});
  });

  it.each<[string, ArrpcServerOptions, string | RegExp]>([
    ['a non-boolean metrics', { metrics: 1 as never }, 'Invalid ArrpcServer option "metrics": expected true or false, got 1'],
    ['a metrics port out of range', { metricsPort: 65_536 }, 'Invalid ArrpcServer option "metricsPort": expected an integer from 0 to 65535, got 65536'],
    ['a registry that is not one', { registry: {} as never }, 'Invalid ArrpcServer option "registry": expected a prom-client Registry, got an object'],
    ['a histogram that is neither', { metricsHistogram: 'yes' as never }, 'Invalid ArrpcServer option "metricsHistogram": expected a boolean or { buckets }, got "yes"'],
    ['buckets out of order', { metricsHistogram: { buckets: [1, 0.5] } }, 'Invalid ArrpcServer option "metricsHistogram.buckets": expected a non-empty array of finite, strictly increasing numbers, got [1, 0.5]'],
    ['empty buckets', { metricsHistogram: { buckets: [] } }, /"metricsHistogram\.buckets": expected .* got an empty array$/],
    ['a negative reason bound', { metricsMaxErrorReasons: -1 }, 'Invalid ArrpcServer option "metricsMaxErrorReasons": expected an integer from 0 up, got -1'],
    ['a port out of range', { port: 70_000 }, 'Invalid ArrpcServer option "port": expected an integer from 0 to 65535, got 70000'],
    ['a negative port', { port: -1 }, 'Invalid ArrpcServer option "port": expected an integer from 0 to 65535, got -1'],
    ['a fractional limit', { maxMessageBytes: 1.5 }, 'Invalid ArrpcServer option "maxMessageBytes": expected an integer from 1 up, got 1.5'],
    ['a zero message size', { maxMessageBytes: 0 }, /"maxMessageBytes": .* got 0$/],
    ['a zero depth', { maxDepth: 0 }, /"maxDepth": .* got 0$/],
    ['a zero concurrency', { maxConcurrentPerConnection: 0 }, /"maxConcurrentPerConnection": .* got 0$/],
    ['a negative timeout', { idleTimeoutMs: -1 }, /"idleTimeoutMs": .* got -1$/],
    ['a timeout setTimeout cannot hold', { drainTimeoutMs: 2 ** 31 }, 'Invalid ArrpcServer option "drainTimeoutMs": expected an integer from 0 to 2147483647, got 2147483648'],
    ['a string port', { port: '80' as never }, /"port": .* got "80"$/],
    ['an empty host', { host: '' }, 'Invalid ArrpcServer option "host": expected a non-empty string, got ""'],
    ['a non-boolean debug', { debug: 'yes' as never }, 'Invalid ArrpcServer option "debug": expected true or false, got "yes"'],
    ['a non-function resolvePattern', { resolvePattern: 'x' as never }, 'Invalid ArrpcServer option "resolvePattern": expected a function, got "x"'],
    ['a cert file without its key', { tlsCertFile: 'a.crt' }, 'Invalid ArrpcServer option "tlsCertFile": needs "tlsKeyFile": give both or neither'],
    ['a key file without its cert', { tlsKeyFile: 'a.key' }, 'Invalid ArrpcServer option "tlsKeyFile": needs "tlsCertFile": give both or neither'],
    ['tls without a certificate', { tls: { requestCert: true } }, /^Invalid ArrpcServer option "tls": needs a certificate/],
    ['a misspelt option', { authsecret: 'x' } as never, 'Invalid ArrpcServer option "authsecret": no such option'],
  ])('refuses %s, naming the option and the value', (_name, options, message) => {
    expect(() => resolveServerOptions(options)).toThrow(TypeError);
    expect(() => resolveServerOptions(options)).toThrow(message);
  });

  it('refuses options that are not an object', () => {
    expect(() => resolveServerOptions(5 as never)).toThrow('Invalid ArrpcServer options: expected an object, got 5');
  });

  it.each([[''], [42]])('refuses the authSecret %j without printing it', (secret) => {
    expect(() => resolveServerOptions({ authSecret: secret as string })).toThrow(/^Invalid ArrpcServer option "authSecret": expected a non-empty string, got (an empty string|a number)$/);
  });
});
