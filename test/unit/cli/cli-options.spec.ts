import { describe, expect, it } from 'vitest';
import { CALL_OPTIONS, parseCommandArgs, parseHostPort, parseInteger, secretFrom } from '../../../lib/cli/cli-options.js';
import { UsageError } from '../../../lib/cli/exit-codes.js';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:4000', { host: '127.0.0.1', port: 4000 }],
    ['example.internal:8080', { host: 'example.internal', port: 8080 }],
    ['[::1]:4000', { host: '::1', port: 4000 }],
    ['4000', { host: '127.0.0.1', port: 4000 }],
    [':4000', { host: '127.0.0.1', port: 4000 }],
  ])('reads %s', (text, expected) => {
    expect(parseHostPort(text)).toEqual(expected);
  });

  it.each(['localhost', 'host:0', 'host:65536', 'host:80x', '::1:4000', ''])('refuses %j', (text) => {
    expect(() => parseHostPort(text)).toThrow(UsageError);
  });
});

describe('parseInteger', () => {
  it('reads whole numbers within bounds, and refuses the rest', () => {
    expect(parseInteger('timeout', '0', 0, 10)).toBe(0);
    expect(parseInteger('timeout', '10', 0, 10)).toBe(10);
    for (const bad of ['11', '-1', '1.5', '1e3', ' 1', '']) {
      expect(() => parseInteger('timeout', bad, 0, 10)).toThrow(`--timeout must be a whole number from 0 to 10, got ${JSON.stringify(bad)}`);
    }
  });
});

describe('parseCommandArgs', () => {
  it('parses flags anywhere among the positionals', () => {
    const { values, positionals } = parseCommandArgs('call', CALL_OPTIONS, ['--pattern', 'p', 'h:1', '--debug', '{}']);
    expect(values).toMatchObject({ pattern: 'p', debug: true });
    expect(positionals).toEqual(['h:1', '{}']);
  });

  it('takes a message starting with "-" after "--"', () => {
    expect(parseCommandArgs('call', CALL_OPTIONS, ['h:1', '--', '-1']).positionals).toEqual(['h:1', '-1']);
  });

  it('turns parseArgs errors into one-line usage errors', () => {
    expect(() => parseCommandArgs('call', CALL_OPTIONS, ['--nope'])).toThrow(new UsageError("Unknown option '--nope'; see 'nestjs-arrpc call --help'"));
  });
});

describe('secretFrom', () => {
  it('prefers the flag, falls back on ARRPC_AUTH_SECRET, and refuses an empty secret', () => {
    expect(secretFrom('flag', { ARRPC_AUTH_SECRET: 'env' })).toEqual(['flag']);
    expect(secretFrom(undefined, { ARRPC_AUTH_SECRET: 'env' })).toEqual(['env']);
    expect(secretFrom(undefined, {})).toBeUndefined();
    expect(() => secretFrom(undefined, { ARRPC_AUTH_SECRET: '' })).toThrow(UsageError);
  });

  it('reads a comma-separated list, current first, and refuses an empty entry', () => {
    expect(secretFrom('new,old', {})).toEqual(['new', 'old']);
    expect(secretFrom(undefined, { ARRPC_AUTH_SECRET: 'new,old' })).toEqual(['new', 'old']);
    expect(() => secretFrom('a,,b', {})).toThrow('the secret list has an empty entry (entries 1): separate secrets with single commas');
    expect(() => secretFrom(',a,', {})).toThrow('(entries 0, 2)');
  });
});
