// The checks behind resolveClientOptions: each takes an option's value and returns it (or its
// resolved form), or throws a TypeError naming the option, what was expected and what was given.
import { lookup as dnsLookup } from 'node:dns';
import type { Registry } from 'prom-client';
import { DEFAULT_CLIENT_HOST, DEFAULT_RESOLVE_INTERVAL_MS, DEFAULT_RETRY_BUDGET } from '../constants.js';
import type { ArrpcMetricsHistogramOptions } from '../metrics/metrics-options.js';
import { areHistogramBuckets } from './histogram-buckets.js';
import { MessageEncoder } from '../protocol/index.js';
import type {
  ArrpcBalance,
  ArrpcClientOptions,
  ArrpcEndpointAddress,
  ArrpcLookup,
  ArrpcPeer,
  ArrpcProbe,
  ArrpcResolve,
  ArrpcRetryBudget,
  ResolvedClientOptions,
} from './client-options.js';

/** Longest timeout, in ms, a Node timer can wait (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export const PEERS: readonly ArrpcPeer[] = ['python', 'nestjs-arrpc'];
export const BALANCES: readonly ArrpcBalance[] = ['p2c', 'round-robin'];
const RESOLVES: readonly ArrpcResolve[] = ['none', 'dns'];
const RETRY_BUDGET_KEYS = new Set(['ratio', 'windowMs', 'minPerSecond']);
/** `'host:port'`, or `'[v6 address]:port'`. */
const ENDPOINT_ADDRESS = /^(?:\[([^\]\s]+)\]|([^:\s\[\]]+)):(\d{1,5})$/;

type Servers = Pick<ResolvedClientOptions, 'host' | 'port' | 'endpoints' | 'resolve' | 'lookup' | 'resolveIntervalMs'>;

/** `endpoints`, or `host` and `port` with how to resolve them. */
export function servers(given: ArrpcClientOptions): Servers {
  const resolve = oneOf('resolve', given.resolve ?? 'none', RESOLVES);
  if (resolve !== 'dns') {
    for (const name of ['lookup', 'resolveIntervalMs'] as const) {
      if (given[name] !== undefined) throw new TypeError(`ArrpcClient option "${name}" needs resolve: 'dns'`);
    }
  }
  const interval = given.resolveIntervalMs ?? DEFAULT_RESOLVE_INTERVAL_MS;
  const resolveIntervalMs = interval === 0 ? 0 : milliseconds('resolveIntervalMs', interval, ' (0 for none)');
  const lookup = resolve === 'dns' ? lookupFunction(given.lookup) : undefined;
  if (given.endpoints !== undefined) {
    if (given.host !== undefined || given.port !== undefined) {
      throw new TypeError('ArrpcClient options "endpoints" and "host"/"port" exclude each other: give one or the other');
    }
    if (resolve === 'dns') throw new TypeError(`ArrpcClient option "resolve": 'dns' looks up "host"; it does not apply to "endpoints"`);
    return { host: undefined, port: undefined, endpoints: endpointList(given.endpoints), resolve, lookup, resolveIntervalMs };
  }
  if (given.port === undefined) throw new TypeError('ArrpcClient option "port" is required (or "endpoints")');
  const host = text('host', given.host ?? DEFAULT_CLIENT_HOST);
  const port = integer('port', given.port, 1, 65_535);
  return { host, port, endpoints: Object.freeze([Object.freeze({ host, port })]), resolve, lookup, resolveIntervalMs };
}

function endpointList(value: unknown): readonly ArrpcEndpointAddress[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid('endpoints', "a non-empty array of 'host:port' strings", value);
  const seen = new Set<string>();
  return Object.freeze(
    value.map((entry: unknown) => {
      const match = typeof entry === 'string' ? ENDPOINT_ADDRESS.exec(entry) : null;
      const port = Number(match?.[3]);
      if (!match || !(port >= 1 && port <= 65_535)) {
        throw invalid('endpoints', "'host:port' strings, port 1 to 65535 ('[::1]:4000' for IPv6)", entry);
      }
      const host = match[1] ?? match[2]!;
      const key = `${host.toLowerCase()}:${port}`;
      if (seen.has(key)) throw new TypeError(`Invalid ArrpcClient option "endpoints": ${JSON.stringify(entry)} is listed twice`);
      seen.add(key);
      return Object.freeze({ host, port });
    }),
  );
}

function lookupFunction(value: unknown): ArrpcLookup {
  if (value === undefined) return dnsLookup as ArrpcLookup;
  if (typeof value !== 'function') throw invalid('lookup', "a function with the signature of Node's dns.lookup", value);
  return value as ArrpcLookup;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw invalid(name, allowed.map((entry) => `'${entry}'`).join(' or '), value);
  return value as T;
}

export function probe(value: unknown, peer: ArrpcPeer): Readonly<ArrpcProbe> | undefined {
  if (value === undefined) return undefined;
  if (peer !== 'python') {
    throw new TypeError(`ArrpcClient option "probe" is for peer 'python': a 'nestjs-arrpc' server is probed with arrpc.ping`);
  }
  if (value === null || typeof value !== 'object' || !('message' in value)) throw invalid('probe', '{ message, expect? }', value);
  const { message, expect } = value as ArrpcProbe;
  for (const [name, part] of [['message', message], ['expect', expect]] as const) {
    try {
      new MessageEncoder().encode(part);
    } catch (error) {
      throw new TypeError(`Invalid ArrpcClient option "probe.${name}": ${(error as Error).message}`);
    }
  }
  return Object.freeze('expect' in value ? { message, expect } : { message });
}

export function idempotentPatterns(value: unknown): true | readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (value === true) return true;
  if (!Array.isArray(value) || !value.every((pattern: unknown) => typeof pattern === 'string' && pattern !== '')) {
    throw invalid('idempotentPatterns', 'true or an array of non-empty pattern strings', value);
  }
  return Object.freeze([...(value as string[])]);
}

export function retryBudget(value: unknown): Readonly<Required<ArrpcRetryBudget>> {
  if (value === undefined) return DEFAULT_RETRY_BUDGET;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid('retryBudget', '{ ratio?, windowMs?, minPerSecond? }', value);
  for (const key of Object.keys(value)) {
    if (!RETRY_BUDGET_KEYS.has(key)) throw new TypeError(`Unknown ArrpcClient option "retryBudget.${key}"`);
  }
  const given = value as ArrpcRetryBudget;
  return Object.freeze({
    ratio: finiteNonNegative('retryBudget.ratio', given.ratio ?? DEFAULT_RETRY_BUDGET.ratio),
    windowMs: milliseconds('retryBudget.windowMs', given.windowMs ?? DEFAULT_RETRY_BUDGET.windowMs),
    minPerSecond: finiteNonNegative('retryBudget.minPerSecond', given.minPerSecond ?? DEFAULT_RETRY_BUDGET.minPerSecond),
  });
}

function finiteNonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(name, 'a finite number, 0 or more', value);
  return value;
}

export function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalid(name, `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`, value);
  }
  return value as number;
}

/** A duration a timer can wait: above 0, at most {@link MAX_TIMEOUT_MS}. */
export function milliseconds(name: string, value: unknown, hint = ''): number {
  if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMEOUT_MS)) {
    throw invalid(name, `a number of milliseconds above 0, at most ${MAX_TIMEOUT_MS}${hint}`, value);
  }
  return value;
}

/** {@link milliseconds} for an option that is off when unset. */
export function optionalPositive(name: string, value: unknown): number | undefined {
  return value === undefined ? undefined : milliseconds(name, value, ' (leave it unset for none)');
}

export function nonNegative(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw invalid(name, 'a finite number of milliseconds, 0 or more', value);
  }
  return value;
}

export function text(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw invalid(name, 'a non-empty string', value);
  return value;
}

/** The secret to sign with: `authSecret` itself, or the first of a list whose every entry is checked. */
export function signingSecret(value: unknown): string {
  if (!Array.isArray(value)) return secret(value);
  if (value.length === 0) throw new TypeError('Invalid ArrpcClient option "authSecret": expected at least one secret, got an empty list');
  value.forEach((entry, position) => secret(entry, ` (entry ${position})`));
  return value[0] as string;
}

function secret(value: unknown, where = ''): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`Invalid ArrpcClient option "authSecret": expected a non-empty string, got ${typeof value === 'string' ? 'an empty string' : typeof value}${where}`);
  }
  return value;
}

export function boolean(name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(name, 'true or false', value);
  return value;
}

export function object<T>(name: string, value: T): T {
  if (value === null || typeof value !== 'object') throw invalid(name, 'an object', value);
  return value;
}

export function registry(value: unknown): Registry {
  if (value === null || typeof value !== 'object' || typeof (value as Registry).getSingleMetric !== 'function') {
    throw invalid('registry', 'a prom-client Registry', value);
  }
  return value as Registry;
}

export function histogram(value: unknown): boolean | Readonly<ArrpcMetricsHistogramOptions> {
  if (typeof value === 'boolean') return value;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('metricsHistogram', 'a boolean or { buckets }', value);
  }
  const buckets: unknown = (value as ArrpcMetricsHistogramOptions).buckets;
  if (buckets === undefined) return Object.freeze({});
  if (!areHistogramBuckets(buckets)) throw invalid('metricsHistogram.buckets', 'a non-empty array of finite, strictly increasing numbers', buckets);
  return Object.freeze({ buckets: Object.freeze([...buckets]) });
}

function invalid(name: string, expected: string, value: unknown): TypeError {
  return new TypeError(`Invalid ArrpcClient option "${name}": expected ${expected}, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
