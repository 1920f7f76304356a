import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { lookup as dnsLookup } from 'node:dns';
import {
  DEFAULT_BALANCE,
  DEFAULT_CLIENT_HOST,
  DEFAULT_CON_MAX_RETRIES,
  DEFAULT_EJECT_AFTER_FAILURES,
  DEFAULT_EJECTION_BACKOFF_MAX_MS,
  DEFAULT_EJECTION_BACKOFF_MS,
  DEFAULT_HEAD_OF_LINE_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_MAX_QUEUED,
  DEFAULT_METRICS_MAX_ERROR_REASONS,
  DEFAULT_NESTJS_ARRPC_PIPELINE,
  DEFAULT_PEER,
  DEFAULT_PIPELINE,
  DEFAULT_POOL_SIZE,
  DEFAULT_RESOLVE_INTERVAL_MS,
  DEFAULT_RETRY_BASE_MS,
  DEFAULT_RETRY_BUDGET,
  resolveClientOptions,
  type ArrpcClientOptions,
} from '../../../lib/index.js';

describe('resolveClientOptions', () => {
  it('fills in every default and freezes the result', () => {
    const resolved = resolveClientOptions({ port: 9000 });
    expect(resolved).toEqual({
      host: DEFAULT_CLIENT_HOST,
      port: 9000,
      endpoints: [{ host: DEFAULT_CLIENT_HOST, port: 9000 }],
      resolve: 'none',
      lookup: undefined,
      resolveIntervalMs: DEFAULT_RESOLVE_INTERVAL_MS,
      balance: DEFAULT_BALANCE,
      maxConnectionAgeMs: undefined,
      ejectAfterFailures: DEFAULT_EJECT_AFTER_FAILURES,
      ejectionBackoffMs: DEFAULT_EJECTION_BACKOFF_MS,
      ejectionBackoffMaxMs: DEFAULT_EJECTION_BACKOFF_MAX_MS,
      probe: undefined,
      idempotentPatterns: [],
      retryBudget: DEFAULT_RETRY_BUDGET,
      timeout: undefined,
      conMaxRetries: DEFAULT_CON_MAX_RETRIES,
      retryBaseMs: DEFAULT_RETRY_BASE_MS,
      authSecret: undefined,
      tlsCaFile: undefined,
      tlsSelfSigned: false,
      tls: undefined,
      poolSize: DEFAULT_POOL_SIZE,
      pipeline: DEFAULT_PIPELINE,
      headOfLineMs: DEFAULT_HEAD_OF_LINE_MS,
      peer: DEFAULT_PEER,
      maxQueued: DEFAULT_MAX_QUEUED,
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
    // DECISIONS.md "Many servers".
    expect([DEFAULT_BALANCE, DEFAULT_RESOLVE_INTERVAL_MS, DEFAULT_EJECT_AFTER_FAILURES]).toEqual(['p2c', 30_000, 3]);
    expect([DEFAULT_EJECTION_BACKOFF_MS, DEFAULT_EJECTION_BACKOFF_MAX_MS]).toEqual([1_000, 30_000]);
    expect(DEFAULT_RETRY_BUDGET).toEqual({ ratio: 0.2, windowMs: 10_000, minPerSecond: 10 });
    expect(DEFAULT_MAX_QUEUED).toBe(10_000);
    expect([DEFAULT_POOL_SIZE, DEFAULT_PIPELINE, DEFAULT_NESTJS_ARRPC_PIPELINE, DEFAULT_HEAD_OF_LINE_MS]).toEqual([8, 1, 16, 20]);
  });

  it("pipelines by default toward peer 'nestjs-arrpc' only; an explicit pipeline wins", () => {
    expect(resolveClientOptions({ port: 1, peer: 'nestjs-arrpc' }).pipeline).toBe(DEFAULT_NESTJS_ARRPC_PIPELINE);
    expect(resolveClientOptions({ port: 1, peer: 'nestjs-arrpc', pipeline: 1 }).pipeline).toBe(1);
    expect(resolveClientOptions({ port: 1, peer: 'python' }).pipeline).toBe(DEFAULT_PIPELINE);
  });

  it('keeps headOfLineMs, 0 turning the bound off', () => {
    expect(resolveClientOptions({ port: 1, headOfLineMs: 0 }).headOfLineMs).toBe(0);
    expect(resolveClientOptions({ port: 1, headOfLineMs: 2.5 }).headOfLineMs).toBe(2.5);
  });

  it('keeps what is given', () => {
    const given: ArrpcClientOptions = {
      host: 'prices.internal', port: 1, timeout: 0.5, conMaxRetries: 1, retryBaseMs: 0, authSecret: 's', tlsCaFile: '/ca.pem',
      tlsSelfSigned: true, tls: { servername: 'x' }, poolSize: 4, pipeline: 16, peer: 'nestjs-arrpc', maxMessageBytes: 1, debug: true,
      metrics: true, metricsPort: 0, registry: new Registry(), metricsHistogram: { buckets: [0.1, 1] }, metricsMaxErrorReasons: 0,
    };
    const resolved = resolveClientOptions(given);
    expect(resolved).toMatchObject(given);
    expect(resolved.registry).toBe(given.registry);
    expect(resolveClientOptions({ port: 1, metricsHistogram: true }).metricsHistogram).toBe(true);
    expect(resolveClientOptions({ port: 1, metricsHistogram: {} }).metricsHistogram).toEqual({});
  });

  it('requires the port', () => {
    expect(() => resolveClientOptions({})).toThrow('Invalid ArrpcClient option "port": required (or "endpoints")');
    expect(() => resolveClientOptions(undefined)).toThrow(/"port"/);
  });

  it('keeps the many-servers options', () => {
    const lookup = () => {};
    const resolved = resolveClientOptions({
      host: 'prices-headless', port: 4000, resolve: 'dns', lookup, resolveIntervalMs: 0, balance: 'round-robin',
      maxConnectionAgeMs: 60_000, ejectAfterFailures: 1, ejectionBackoffMs: 10, ejectionBackoffMaxMs: 10,
      probe: { message: { ping: 1 }, expect: 'pong' }, idempotentPatterns: ['prices.get', '{"cmd":"sum"}'], retryBudget: { ratio: 0.5 },
    });
    expect(resolved).toMatchObject({
      endpoints: [{ host: 'prices-headless', port: 4000 }], resolve: 'dns', lookup, resolveIntervalMs: 0, balance: 'round-robin',
      maxConnectionAgeMs: 60_000, ejectAfterFailures: 1, ejectionBackoffMs: 10, ejectionBackoffMaxMs: 10,
      probe: { message: { ping: 1 }, expect: 'pong' }, idempotentPatterns: ['prices.get', '{"cmd":"sum"}'],
      retryBudget: { ratio: 0.5, windowMs: 10_000, minPerSecond: 10 },
    });
    expect(resolveClientOptions({ port: 1, resolve: 'dns' }).lookup).toBe(dnsLookup);
    expect(resolveClientOptions({ port: 1, idempotentPatterns: true }).idempotentPatterns).toBe(true);
    expect(resolveClientOptions({ port: 1, maxConnectionAgeMs: 0 }).maxConnectionAgeMs).toBeUndefined();
    expect(resolveClientOptions({ port: 1, probe: { message: 'ping' } }).probe).toEqual({ message: 'ping' });
  });

  it('parses endpoints, IPv6 in brackets, instead of host and port', () => {
    const resolved = resolveClientOptions({ endpoints: ['10.0.0.5:4000', 'prices-1.internal:4001', '[::1]:4002'] });
    expect(resolved).toMatchObject({
      host: undefined,
      port: undefined,
      endpoints: [{ host: '10.0.0.5', port: 4000 }, { host: 'prices-1.internal', port: 4001 }, { host: '::1', port: 4002 }],
    });
    expect(Object.isFrozen(resolved.endpoints)).toBe(true);
  });

  it.each<[string, ArrpcClientOptions, RegExp]>([
    ['endpoints with a port', { endpoints: ['a:1'], port: 2 }, /^Invalid ArrpcClient option "endpoints": excludes "host" and "port"/],
    ['endpoints with a host', { endpoints: ['a:1'], host: 'b' }, /excludes "host" and "port"/],
    ['empty endpoints', { endpoints: [] }, /"endpoints": expected a non-empty array of 'host:port' strings, got an empty array/],
    ['an endpoint without a port', { endpoints: ['a'] }, /"endpoints": expected 'host:port' strings.*got "a"/],
    ['an endpoint on port 0', { endpoints: ['a:0'] }, /"endpoints".*got "a:0"/],
    ['a bare IPv6 endpoint', { endpoints: ['::1:4000'] }, /"endpoints".*got "::1:4000"/],
    ['an endpoint twice', { endpoints: ['a:1', 'A:1'] }, /"endpoints": "A:1" is listed twice/],
    ['resolve dns with endpoints', { endpoints: ['a:1'], resolve: 'dns' }, /'dns' looks up "host"/],
    ['an unknown resolve', { port: 1, resolve: 'srv' as never }, /"resolve": expected 'none' or 'dns', got "srv"/],
    ['lookup without dns', { port: 1, lookup: () => {} }, /^Invalid ArrpcClient option "lookup": needs resolve: 'dns'$/],
    ['resolveIntervalMs without dns', { port: 1, resolveIntervalMs: 5 }, /"resolveIntervalMs": needs resolve: 'dns'/],
    ['a lookup that is not a function', { port: 1, resolve: 'dns', lookup: 'dns' as never }, /"lookup": expected a function/],
    ['a negative resolveIntervalMs', { port: 1, resolve: 'dns', resolveIntervalMs: -1 }, /"resolveIntervalMs".*\(0 for none\), got -1/],
    ['an unknown balance', { port: 1, balance: 'random' as never }, /"balance": expected 'p2c' or 'round-robin', got "random"/],
    ['a negative maxConnectionAgeMs', { port: 1, maxConnectionAgeMs: -1 }, /"maxConnectionAgeMs".*got -1/],
    ['maxQueued 0', { port: 1, maxQueued: 0 }, /"maxQueued": expected an integer from 1 up, got 0/],
    ['ejectAfterFailures -1', { port: 1, ejectAfterFailures: -1 }, /"ejectAfterFailures": expected an integer from 0 up, got -1/],
    ['ejectionBackoffMs 0', { port: 1, ejectionBackoffMs: 0 }, /"ejectionBackoffMs": expected a number of milliseconds above 0/],
    ['a cap below the back-off', { port: 1, ejectionBackoffMs: 500, ejectionBackoffMaxMs: 100 }, /"ejectionBackoffMaxMs": 100 is below "ejectionBackoffMs" \(500\)/],
    ['a probe toward nestjs-arrpc', { port: 1, peer: 'nestjs-arrpc', probe: { message: 1 } }, /"probe": is for peer 'python'/],
    ['a probe without message', { port: 1, probe: {} as never }, /"probe": expected \{ message, expect\? \}/],
    ['a probe message with no MessagePack form', { port: 1, probe: { message: () => 1 } }, /"probe.message"/],
    ['idempotentPatterns false', { port: 1, idempotentPatterns: false as never }, /"idempotentPatterns": expected true or an array of non-empty pattern strings, got false/],
    ['an empty idempotent pattern', { port: 1, idempotentPatterns: [''] }, /"idempotentPatterns"/],
    ['a negative retry ratio', { port: 1, retryBudget: { ratio: -0.1 } }, /"retryBudget.ratio": expected a finite number, 0 or more, got -0.1/],
    ['a retry window of 0', { port: 1, retryBudget: { windowMs: 0 } }, /"retryBudget.windowMs"/],
    ['an unknown retryBudget key', { port: 1, retryBudget: { percent: 1 } as never }, /^Invalid ArrpcClient option "retryBudget.percent": no such option$/],
  ])('refuses %s, naming the option', (_name, options, message) => {
    expect(() => resolveClientOptions(options)).toThrow(TypeError);
    expect(() => resolveClientOptions(options)).toThrow(message);
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
    ['negative headOfLineMs', { port: 1, headOfLineMs: -1 }, /"headOfLineMs": expected a finite number of milliseconds, 0 or more, got -1/],
    ['infinite headOfLineMs', { port: 1, headOfLineMs: Infinity }, /"headOfLineMs".*got Infinity/],
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
    expect(() => resolveClientOptions({ port: 1, tlsSelfSigned: true })).toThrow(/"tlsSelfSigned": needs "tlsCaFile"/);
  });

  it('refuses an unknown option, so a misspelt one is not silently ignored', () => {
    expect(() => resolveClientOptions({ port: 1, timeoutMs: 5 } as never)).toThrow('Invalid ArrpcClient option "timeoutMs": no such option');
  });

  it('never shows the secret in its error', () => {
    expect(() => resolveClientOptions({ port: 1, authSecret: '' })).toThrow(/"authSecret": expected a non-empty string, got an empty string/);
    expect(() => resolveClientOptions({ port: 1, authSecret: 12345 as never })).toThrow(/"authSecret": expected a non-empty string, got a number$/);
  });

  it('signs with the first of an authSecret list, and refuses a list with an empty entry', () => {
    expect(resolveClientOptions({ port: 1, authSecret: ['new', 'old'] }).authSecret).toBe('new');
    expect(() => resolveClientOptions({ port: 1, authSecret: [] })).toThrow('"authSecret": expected a non-empty string or a non-empty list of them, got an empty list');
    expect(() => resolveClientOptions({ port: 1, authSecret: ['new', ''] })).toThrow(/"authSecret\[1\]": expected a non-empty string, got an empty string$/);
  });
});
