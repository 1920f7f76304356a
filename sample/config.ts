import { createServer } from 'node:net';
import type { ArrpcClientOptions, ArrpcServerOptions } from '../lib/index.js';

/** Every environment variable the sample reads; docs/sample.md's table lists the same. */
export const SAMPLE_ENV = [
  'ARRPC_HOST',
  'ARRPC_PORT',
  'HTTP_PORT',
  'ARRPC_UPSTREAM',
  'ARRPC_UPSTREAM_RESOLVE',
  'ARRPC_AUTH_SECRET',
  'ARRPC_TLS_CERT_FILE',
  'ARRPC_TLS_KEY_FILE',
  'ARRPC_TLS_CA_FILE',
  'ARRPC_TLS_SELF_SIGNED',
  'ARRPC_DEBUG',
] as const;

/** arrpc port when `ARRPC_PORT` is unset. */
export const SAMPLE_ARRPC_PORT = 4000;
/** HTTP port when `HTTP_PORT` is unset. */
export const SAMPLE_HTTP_PORT = 3000;
/** Milliseconds an HTTP request waits for the upstream's answer before a 504. */
export const SAMPLE_CALL_TIMEOUT_MS = 5000;
/**
 * Where both sides listen when `ARRPC_HOST` is unset: loopback, for trying
 * things on one machine. In a container it is `0.0.0.0` (sample/deploy).
 */
export const SAMPLE_HOST = '127.0.0.1';

/** The sample's settings, read once from the environment by {@link readSampleConfig}. */
export interface SampleConfig {
  readonly host: string;
  /** arrpc port; never 0 here: a free port is picked beforehand, so the clients can aim at it. */
  readonly arrpcPort: number;
  /** HTTP port; 0 lets the OS pick (printed once listening). */
  readonly httpPort: number;
  /** Where the sample reaches its own arrpc server: `host`, or loopback when that is every interface. */
  readonly selfHost: string;
  /** The arrpc server the HTTP side calls: `ARRPC_UPSTREAM`, else the sample's own arrpc port. */
  readonly upstream: { readonly host: string; readonly port: number; readonly isSelf: boolean };
  /** `ARRPC_UPSTREAM_RESOLVE=dns`: call every address the upstream's name resolves to (a headless Service). */
  readonly upstreamResolve: 'dns' | 'none';
  /** Shared by the server (checks) and the client (signs). */
  readonly authSecret: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  /** CA file the client verifies the upstream with. */
  readonly tlsCaFile: string | undefined;
  readonly tlsSelfSigned: boolean;
  readonly debug: boolean;
}

/** A bad environment variable; `main.ts` prints it on one line and exits 1. */
export class SampleConfigError extends Error {
  override readonly name = 'SampleConfigError';
}

/** Reads and checks the environment. */
export async function readSampleConfig(env: NodeJS.ProcessEnv): Promise<SampleConfig> {
  const host = nonEmpty(env, 'ARRPC_HOST') ?? SAMPLE_HOST;
  const upstreamText = nonEmpty(env, 'ARRPC_UPSTREAM');
  // The clients aimed at this very server (/health's, and the HTTP side's unless ARRPC_UPSTREAM
  // is set) need its port when the app is built, before the server listens: with port 0, pick
  // the free port now.
  let arrpcPort = port(env, 'ARRPC_PORT', SAMPLE_ARRPC_PORT);
  if (arrpcPort === 0) arrpcPort = await freePort(host);
  // The sample calling itself aims at loopback even when it listens on every interface.
  const selfHost = host === '0.0.0.0' || host === '::' ? SAMPLE_HOST : host;
  const upstream = upstreamText === undefined ? { host: selfHost, port: arrpcPort, isSelf: true } : { ...hostPort(upstreamText), isSelf: false };
  const upstreamResolve = nonEmpty(env, 'ARRPC_UPSTREAM_RESOLVE') ?? 'none';
  if (upstreamResolve !== 'dns' && upstreamResolve !== 'none') {
    throw new SampleConfigError(`ARRPC_UPSTREAM_RESOLVE must be dns or none, got ${JSON.stringify(upstreamResolve)}`);
  }
  const tlsCertFile = nonEmpty(env, 'ARRPC_TLS_CERT_FILE');
  const tlsKeyFile = nonEmpty(env, 'ARRPC_TLS_KEY_FILE');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new SampleConfigError('ARRPC_TLS_CERT_FILE and ARRPC_TLS_KEY_FILE go together');
  }
  let tlsCaFile = nonEmpty(env, 'ARRPC_TLS_CA_FILE');
  let tlsSelfSigned = flag(env, 'ARRPC_TLS_SELF_SIGNED');
  if (upstream.isSelf && tlsCertFile !== undefined && tlsCaFile === undefined) {
    // Calling itself over TLS: trust exactly its own certificate.
    tlsCaFile = tlsCertFile;
    tlsSelfSigned = true;
  }
  if (tlsSelfSigned && tlsCaFile === undefined) throw new SampleConfigError('ARRPC_TLS_SELF_SIGNED=1 needs ARRPC_TLS_CA_FILE');
  return {
    host,
    selfHost,
    arrpcPort,
    httpPort: port(env, 'HTTP_PORT', SAMPLE_HTTP_PORT),
    upstream,
    upstreamResolve,
    authSecret: nonEmpty(env, 'ARRPC_AUTH_SECRET'),
    tlsCertFile,
    tlsKeyFile,
    tlsCaFile,
    tlsSelfSigned,
    debug: flag(env, 'ARRPC_DEBUG'),
  };
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = nonEmpty(env, name);
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value <= 65_535)) throw new SampleConfigError(`${name} must be a port from 0 to 65535, got ${JSON.stringify(text)}`);
  return value;
}

function hostPort(text: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(text);
  const value = Number(match?.[2]);
  if (!match || !(value >= 1 && value <= 65_535)) {
    throw new SampleConfigError(`ARRPC_UPSTREAM must be HOST:PORT, got ${JSON.stringify(text)}`);
  }
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port: value };
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = nonEmpty(env, name);
  if (text === undefined || text === '0' || text === 'false') return false;
  if (text === '1' || text === 'true') return true;
  throw new SampleConfigError(`${name} must be 1 or 0, got ${JSON.stringify(text)}`);
}

/** A port the OS considers free right now on `host`. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port: picked } = probe.address() as { port: number };
      probe.close(() => resolve(picked));
    });
  });
}

/** The arrpc server's options: what the sample serves on `arrpcPort`. */
export function serverOptions(config: SampleConfig): ArrpcServerOptions {
  return {
    host: config.host,
    port: config.arrpcPort,
    authSecret: config.authSecret,
    tlsCertFile: config.tlsCertFile,
    tlsKeyFile: config.tlsKeyFile,
    debug: config.debug,
    // Recorded into prom-client's global registry, which ArrpcMetricsModule serves at /metrics.
    metrics: true,
  };
}

/**
 * The options of the client `/health` checks the sample's own arrpc server with (`arrpc.ping`):
 * signed with the sample's secret and, over TLS, trusting exactly the sample's certificate.
 */
export function selfClientOptions(config: SampleConfig): ArrpcClientOptions {
  const tls = config.tlsCertFile === undefined ? {} : { tlsCaFile: config.tlsCertFile, tlsSelfSigned: true };
  return { host: config.selfHost, port: config.arrpcPort, peer: 'nestjs-arrpc', authSecret: config.authSecret, ...tls };
}

/** The client's options: the upstream the HTTP controller calls. */
export function clientOptions(config: SampleConfig): ArrpcClientOptions {
  return {
    host: config.upstream.host,
    port: config.upstream.port,
    resolve: config.upstreamResolve,
    timeout: SAMPLE_CALL_TIMEOUT_MS,
    authSecret: config.authSecret,
    tlsCaFile: config.tlsCaFile,
    tlsSelfSigned: config.tlsSelfSigned,
    debug: config.debug,
    // Into the same global registry: /metrics shows arrpc_client_* beside arrpc_server_*.
    metrics: true,
  };
}
