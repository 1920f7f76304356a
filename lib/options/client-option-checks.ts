// The checks behind resolveClientOptions: the shared ones of option-checks.ts, naming
// `ArrpcClient` in their errors, and those of the client's own compound options.
import { lookup as dnsLookup } from 'node:dns';
import { DEFAULT_CLIENT_HOST, DEFAULT_RESOLVE_INTERVAL_MS, DEFAULT_RETRY_BUDGET } from '../constants.js';
import { MessageEncoder } from '../protocol/index.js';
import { optionChecks } from './option-checks.js';
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

export const check = optionChecks('ArrpcClient');

export const PEERS: readonly ArrpcPeer[] = ['python', 'nestjs-arrpc'];
export const BALANCES: readonly ArrpcBalance[] = ['p2c', 'round-robin'];
const RESOLVES: readonly ArrpcResolve[] = ['none', 'dns'];
const RETRY_BUDGET_KEYS = new Set(['ratio', 'windowMs', 'minPerSecond']);
/** `'host:port'`, or `'[v6 address]:port'`. */
const ENDPOINT_ADDRESS = /^(?:\[([^\]\s]+)\]|([^:\s\[\]]+)):(\d{1,5})$/;

type Servers = Pick<ResolvedClientOptions, 'host' | 'port' | 'endpoints' | 'resolve' | 'lookup' | 'resolveIntervalMs'>;

/** `endpoints`, or `host` and `port` with how to resolve them. */
export function servers(given: ArrpcClientOptions): Servers {
  const resolve = check.oneOf('resolve', given.resolve ?? 'none', RESOLVES);
  if (resolve !== 'dns') {
    for (const name of ['lookup', 'resolveIntervalMs'] as const) {
      if (given[name] !== undefined) throw check.refused(name, `needs resolve: 'dns'`);
    }
  }
  const interval = given.resolveIntervalMs ?? DEFAULT_RESOLVE_INTERVAL_MS;
  const resolveIntervalMs = interval === 0 ? 0 : check.milliseconds('resolveIntervalMs', interval, ' (0 for none)');
  const lookup = resolve === 'dns' ? lookupFunction(given.lookup) : undefined;
  if (given.endpoints !== undefined) {
    if (given.host !== undefined || given.port !== undefined) {
      throw check.refused('endpoints', 'excludes "host" and "port": give one or the other');
    }
    if (resolve === 'dns') throw check.refused('resolve', `'dns' looks up "host"; it does not apply to "endpoints"`);
    return { host: undefined, port: undefined, endpoints: endpointList(given.endpoints), resolve, lookup, resolveIntervalMs };
  }
  if (given.port === undefined) throw check.refused('port', 'required (or "endpoints")');
  const host = check.text('host', given.host ?? DEFAULT_CLIENT_HOST);
  const port = check.integer('port', given.port, 1, 65_535);
  return { host, port, endpoints: Object.freeze([Object.freeze({ host, port })]), resolve, lookup, resolveIntervalMs };
}

function endpointList(value: unknown): readonly ArrpcEndpointAddress[] {
  if (!Array.isArray(value) || value.length === 0) throw check.invalid('endpoints', "a non-empty array of 'host:port' strings", value);
  const seen = new Set<string>();
  return Object.freeze(
    value.map((entry: unknown) => {
      const match = typeof entry === 'string' ? ENDPOINT_ADDRESS.exec(entry) : null;
      const port = Number(match?.[3]);
      if (!match || !(port >= 1 && port <= 65_535)) {
        throw check.invalid('endpoints', "'host:port' strings, port 1 to 65535 ('[::1]:4000' for IPv6)", entry);
      }
      const host = match[1] ?? match[2]!;
      const key = `${host.toLowerCase()}:${port}`;
      if (seen.has(key)) throw check.refused('endpoints', `${JSON.stringify(entry)} is listed twice`);
      seen.add(key);
      return Object.freeze({ host, port });
    }),
  );
}

function lookupFunction(value: unknown): ArrpcLookup {
  if (value === undefined) return dnsLookup as ArrpcLookup;
  return check.func<ArrpcLookup>('lookup', value, "a function with the signature of Node's dns.lookup");
}

export function probe(value: unknown, peer: ArrpcPeer): Readonly<ArrpcProbe> | undefined {
  if (value === undefined) return undefined;
  if (peer !== 'python') {
    throw check.refused('probe', `is for peer 'python': a 'nestjs-arrpc' server is probed with arrpc.ping`);
  }
  if (value === null || typeof value !== 'object' || !('message' in value)) throw check.invalid('probe', '{ message, expect? }', value);
  const { message, expect } = value as ArrpcProbe;
  for (const [name, part] of [['message', message], ['expect', expect]] as const) {
    try {
      new MessageEncoder().encode(part);
    } catch (error) {
      throw check.refused(`probe.${name}`, (error as Error).message);
    }
  }
  return Object.freeze(expect === undefined ? { message } : { message, expect });
}

export function idempotentPatterns(value: unknown): true | readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (value === true) return true;
  if (!Array.isArray(value) || !value.every((pattern: unknown) => typeof pattern === 'string' && pattern !== '')) {
    throw check.invalid('idempotentPatterns', 'true or an array of non-empty pattern strings', value);
  }
  return Object.freeze([...(value as string[])]);
}

export function retryBudget(value: unknown): ResolvedClientOptions['retryBudget'] {
  if (value === undefined) return DEFAULT_RETRY_BUDGET;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw check.invalid('retryBudget', '{ ratio?, windowMs?, minPerSecond? }', value);
  for (const key of Object.keys(value)) {
    if (!RETRY_BUDGET_KEYS.has(key)) throw check.refused(`retryBudget.${key}`, 'no such option');
  }
  const given = value as ArrpcRetryBudget;
  return Object.freeze({
    ratio: check.finiteNonNegative('retryBudget.ratio', given.ratio ?? DEFAULT_RETRY_BUDGET.ratio),
    windowMs: check.milliseconds('retryBudget.windowMs', given.windowMs ?? DEFAULT_RETRY_BUDGET.windowMs),
    minPerSecond: check.finiteNonNegative('retryBudget.minPerSecond', given.minPerSecond ?? DEFAULT_RETRY_BUDGET.minPerSecond),
  });
}
