import type { ConnectionOptions } from 'node:tls';
import type { ArrpcClient, ArrpcEndpointState, ConnectionPool } from '../client/index.js';
import { createProbeSettings, type ProbeExchange } from '../client/probe.js';
import { createRequestEncoding, type RequestEncoding } from '../client/request-encoding.js';
import { createTlsOptions } from '../client/tls-options.js';
import type { ArrpcProbe, ResolvedClientOptions } from '../options/index.js';
import { optionChecks } from '../options/option-checks.js';

/** The checks of `pingCheck`'s options. */
export const healthCheck = optionChecks('ArrpcHealthIndicator');

/** One endpoint of a client, as a health check sees it. */
export interface HealthTarget {
  /** `host:port`, as the client names it. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Where the client's balancer stands on it. */
  readonly clientState: ArrpcEndpointState;
}

/** What every health check of one client shares: how to reach its servers and what to write them. */
export interface ClientHealthSettings {
  readonly options: ResolvedClientOptions;
  /** `tls.connect` options; `undefined` for plain TCP. Files are read once, here. */
  readonly tls: ConnectionOptions | undefined;
  /** The client's request encoding, made once: its signing key, and its nonces when guarded. */
  readonly encoding: RequestEncoding;
}

/** The client's resolved options, and its TLS settings and request encoding made once. */
export function clientHealthSettings(client: ArrpcClient): ClientHealthSettings {
  const options = typeof client?.getOptions === 'function' ? client.getOptions() : undefined;
  if (options === undefined || !Array.isArray(options.endpoints)) {
    throw new TypeError('ArrpcHealthIndicator: the client given to pingCheck is not an ArrpcClient');
  }
  return { options, tls: createTlsOptions(options), encoding: createRequestEncoding(options) };
}

/**
 * The endpoints a check covers: each the client's pool holds, except those that left the DNS
 * answer (`removed`); none while a first DNS lookup is pending.
 */
export function healthTargets(client: ArrpcClient): HealthTarget[] {
  return client
    .unwrap<ConnectionPool>()
    .endpoints.filter((endpoint) => endpoint.state !== 'removed')
    .map(({ address, host, port, state }) => ({ address, host, port, clientState: state }));
}

/**
 * The round trip a check makes: `arrpc.ping` toward `peer: 'nestjs-arrpc'`, which must answer
 * `SERVING`; toward a Python server, `probe` (the check's, else the client's) sent raw.
 * Throws a `TypeError` when a Python server has no probe: opening a connection proves nothing.
 */
export function healthExchange(settings: ClientHealthSettings, probe: ArrpcProbe | undefined, timeoutMs: number): ProbeExchange {
  const { options, encoding } = settings;
  if (probe !== undefined && options.peer === 'nestjs-arrpc') {
    throw healthCheck.refused('probe', `is for peer 'python' clients: a 'nestjs-arrpc' server is checked with arrpc.ping`);
  }
  if (probe !== undefined && (typeof probe !== 'object' || probe === null || !('message' in probe))) {
    throw healthCheck.invalid('probe', '{ message, expect? }', probe);
  }
  const probeSettings = createProbeSettings(probe === undefined ? options : { ...options, probe }, timeoutMs, encoding);
  if (probeSettings.kind === 'connect') {
    throw healthCheck.refused(
      'probe',
      `required for a peer 'python' client: give the client's "probe" option or pingCheck's ` +
        `{ probe: { message, expect } }, a message the Python server answers without side effects`,
    );
  }
  return probeSettings.exchange;
}
