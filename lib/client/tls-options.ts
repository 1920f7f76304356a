import { readFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import type { ResolvedClientOptions } from '../options/index.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The `tls.connect` options for a client, or `undefined` without TLS. Files
 * are read once here, so every connection reuses the bytes and a missing file
 * fails when the client is built rather than at the first call.
 */
export function createTlsOptions(options: ResolvedClientOptions): ConnectionOptions | undefined {
  const { tls, tlsCaFile, tlsSelfSigned } = options;
  if (tls === undefined && tlsCaFile === undefined) return undefined;
  const servername = serverName(options);
  const connection: ConnectionOptions = servername === undefined ? { ...tls } : { servername, ...tls };
  if (tlsCaFile !== undefined) {
    const ca = readCaFile(tlsCaFile);
    connection.ca = ca;
    if (tlsSelfSigned) {
      // The chain is still verified against `ca`; only the host name check
      // gives way to an exact match on the certificate itself.
      connection.rejectUnauthorized = true;
      connection.checkServerIdentity = pinnedIdentityCheck(ca, tlsCaFile);
    }
  }
  return connection;
}

/**
 * With `resolve: 'dns'` each connection dials an address the lookup returned, which Node would
 * send no SNI for and check the certificate against: the server is named by `host` instead.
 * `undefined` otherwise (Node names the server by the host it dials) and for an IP literal.
 */
function serverName(options: ResolvedClientOptions): string | undefined {
  const { resolve, host } = options;
  return resolve === 'dns' && host !== undefined && isIP(host) === 0 ? host : undefined;
}

function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new TypeError(`Invalid ArrpcClient option "tlsCaFile": cannot read ${JSON.stringify(path)}: ${(error as Error).message}`);
  }
}

/** Accepts a server certificate only when it is one of those in `pem`. */
function pinnedIdentityCheck(pem: Buffer, path: string): (host: string, cert: PeerCertificate) => Error | undefined {
  const pinned = new Set(
    (pem.toString('latin1').match(PEM_CERTIFICATE) ?? []).map((block) => new X509Certificate(block).fingerprint256),
  );
  if (pinned.size === 0) {
    throw new TypeError(`Invalid ArrpcClient option "tlsCaFile": ${JSON.stringify(path)} holds no PEM certificate`);
  }
  return (host, cert) =>
    pinned.has(cert.fingerprint256)
      ? undefined
      : Object.assign(new Error(`${host} presented a certificate (SHA-256 ${cert.fingerprint256}) that is not in tlsCaFile`), {
          code: 'ERR_ARRPC_CERT_NOT_PINNED',
        });
}
