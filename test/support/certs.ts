// Test certificates, generated when first asked for and kept for the rest of the process (one
// vitest fork = one test file), so no key material is ever committed and none expires.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

/** A PEM certificate and its PEM private key (PKCS#8). */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

/** Every certificate the TLS tests need, as PEM. */
export interface TestCerts {
  /** The test CA (self-signed, CA:TRUE); trust it to accept `server` and `client`. */
  readonly ca: CertPair;
  /** Server certificate signed by `ca`; SAN IP 127.0.0.1 and DNS localhost. */
  readonly server: CertPair;
  /**
   * Server certificate signed by `ca` for the name `localhost` only (no IP SAN): what a real
   * server presents, accepted only when the client checks the name, not the address it dialled.
   */
  readonly namedServer: CertPair;
  /** An unrelated self-signed server certificate (same SANs): "a different certificate is refused". */
  readonly otherServer: CertPair;
  /** Client certificate signed by `ca`, for mutual TLS. */
  readonly client: CertPair;
  /** A second CA that nothing else trusts. */
  readonly otherCa: CertPair;
  /** Client certificate signed by `otherCa`: a server requiring `ca` must refuse it. */
  readonly otherClient: CertPair;
}

/** The certificates written to a temporary folder, for options that take file paths. */
export interface CertFiles {
  readonly dir: string;
  /** `<name>.crt` and `<name>.key` per entry of {@link TestCerts}. */
  readonly files: { readonly [K in keyof TestCerts]: { readonly certFile: string; readonly keyFile: string } };
  /** Removes the folder. */
  cleanup(): Promise<void>;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const LOOPBACK_SANS = [
  { type: 2, value: 'localhost' }, // dNSName
  { type: 7, ip: '127.0.0.1' }, // iPAddress
];

type Issuer = { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey };
const NAME_ONLY_SANS = [{ type: 2, value: 'localhost' }];

type Role = 'ca' | 'server' | 'named-server' | 'self-signed-server' | 'client';

let cached: TestCerts | undefined;

/** The process-wide test certificates; generated on the first call (well under a second). */
export function getTestCerts(): TestCerts {
  cached ??= generateAll();
  return cached;
}

/** Writes `certs` (default {@link getTestCerts}) as PEM files into a fresh temporary folder. */
export async function writeCertFiles(certs: TestCerts = getTestCerts()): Promise<CertFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'arrpc-certs-'));
  const files = {} as Record<keyof TestCerts, { certFile: string; keyFile: string }>;
  for (const name of Object.keys(certs) as (keyof TestCerts)[]) {
    const certFile = join(dir, `${name}.crt`);
    const keyFile = join(dir, `${name}.key`);
    await writeFile(certFile, certs[name].cert);
    await writeFile(keyFile, certs[name].key, { mode: 0o600 });
    files[name] = { certFile, keyFile };
  }
  return { dir, files, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function generateAll(): TestCerts {
  const ca = issue('nestjs-arrpc test CA', 'ca');
  const otherCa = issue('nestjs-arrpc other CA', 'ca');
  return {
    ca: toPem(ca),
    server: toPem(issue('localhost', 'server', ca)),
    namedServer: toPem(issue('localhost', 'named-server', ca)),
    otherServer: toPem(issue('localhost', 'self-signed-server')),
    client: toPem(issue('nestjs-arrpc test client', 'client', ca)),
    otherCa: toPem(otherCa),
    otherClient: toPem(issue('nestjs-arrpc other client', 'client', otherCa)),
  };
}

function issue(commonName: string, role: Role, issuer?: Issuer): Issuer & { keyPem: string } {
  // node:crypto generates the RSA key natively (milliseconds); forge only builds and signs the
  // certificate, which Node's TLS API cannot do.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  // Positive serial: a leading 0x00..0x7f byte keeps the DER INTEGER non-negative.
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + 365 * DAY_MS);
  const subject = [{ name: 'commonName', value: commonName }];
  cert.setSubject(subject);
  cert.setIssuer(issuer ? issuer.cert.subject.attributes : subject);
  cert.setExtensions(extensionsFor(role, issuer));
  cert.sign(issuer ? issuer.key : key, forge.md.sha256.create());
  return { cert, key, keyPem };
}

function extensionsFor(role: Role, issuer: Issuer | undefined): object[] {
  const ids = [
    { name: 'subjectKeyIdentifier' },
    // Self-signed (no issuer): the authority key id is the certificate's own.
    {
      name: 'authorityKeyIdentifier',
      keyIdentifier: issuer ? issuer.cert.generateSubjectKeyIdentifier().getBytes() : true,
    },
  ];
  const leafKeyUsage = { name: 'keyUsage', digitalSignature: true, keyEncipherment: true };
  const sans = { name: 'subjectAltName', altNames: role === 'named-server' ? NAME_ONLY_SANS : LOOPBACK_SANS };
  switch (role) {
    case 'ca':
      return [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
        ...ids,
      ];
    case 'server':
    case 'named-server':
      return [{ name: 'basicConstraints', cA: false }, leafKeyUsage, { name: 'extKeyUsage', serverAuth: true }, sans, ...ids];
    case 'self-signed-server':
      // As `openssl req -x509` makes them: CA:TRUE with keyCertSign, so a client can also pin it
      // as its trust anchor (the reference's `tls_cafile="server.crt"` set-up).
      return [
        { name: 'basicConstraints', cA: true },
        { ...leafKeyUsage, keyCertSign: true },
        { name: 'extKeyUsage', serverAuth: true },
        sans,
        ...ids,
      ];
    case 'client':
      return [{ name: 'basicConstraints', cA: false }, leafKeyUsage, { name: 'extKeyUsage', clientAuth: true }, ...ids];
  }
}

function toPem(issued: Issuer & { keyPem: string }): CertPair {
  return { cert: forge.pki.certificateToPem(issued.cert), key: issued.keyPem };
}
