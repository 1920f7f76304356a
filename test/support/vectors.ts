// Access to the captured Python arrpc 0.5.0 exchanges in ../shared/arrpc-wire/vectors.json. The
// file is read in place, never copied into the repository (PROTOCOL.md asks for that).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

/** The repository root (this file is test/support/vectors.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The shared wire folder, a sibling of the repository. */
export const WIRE_DIR = resolve(REPO_ROOT, '..', 'shared', 'arrpc-wire');
/** The vectors file. */
export const VECTORS_PATH = resolve(WIRE_DIR, 'vectors.json');

/**
 * A value in the vectors' JSON tag scheme: plain JSON, where values JSON cannot express are
 * single-key objects `{"$bin": hex}`, `{"$int": "decimal"}`, `{"$float": "python repr"}`,
 * `{"$map": [[k, v], ...]}`, `{"$timestamp": ...}`, `{"$ext": ...}` (see `value_tags`).
 */
export type TaggedValue = unknown;

/** One turn of bytes in one direction on the case's connection. */
export interface VectorWireTurn {
  readonly direction: 'request' | 'response';
  readonly hex: string;
  /** The turn's bytes decoded, tagged; absent for bytes that are not one msgpack value. */
  readonly decoded?: TaggedValue;
}

/** What `arrpc.Client.send()` returned or raised in the captured run. */
export type PythonClientResult =
  | { readonly kind: 'value'; readonly value: TaggedValue }
  | { readonly kind: 'RpcException' | 'AuthException' | 'RpcTimeoutException' | 'ConnectException'; readonly message: string };

/** One captured exchange. */
export interface VectorCase {
  readonly name: string;
  readonly description: string;
  readonly server_auth_secret: string | null;
  readonly client_auth_secret: string | null;
  /** The value handed to the Python client (absent for cases written as raw bytes). */
  readonly sent_value?: TaggedValue;
  readonly wire: readonly VectorWireTurn[];
  readonly server_closed_connection: boolean;
  readonly python_client_result?: PythonClientResult;
  /** Raw-bytes cases: what was written to the server. */
  readonly raw_request_hex?: string;
  /** Raw-bytes cases: the server's answer, or null when it sent none. */
  readonly response_hex?: string | null;
}

/** The whole vectors file. */
export interface VectorFile {
  readonly about: string;
  readonly arrpc_version: string;
  readonly python_msgpack_version?: string;
  readonly auth_secret_used: string;
  readonly value_tags: Readonly<Record<string, string>>;
  readonly cases: readonly VectorCase[];
}

/** Shown as the skipped suite's name when the shared folder is missing. */
export const VECTORS_MISSING_MESSAGE = '../shared/arrpc-wire not found: vector tests skipped';

let cached: VectorFile | undefined;

/** True when ../shared/arrpc-wire/vectors.json exists. */
export function vectorsAvailable(): boolean {
  return existsSync(VECTORS_PATH);
}

/** Reads and parses vectors.json (once per process). Throws when the file is missing. */
export function loadVectors(): VectorFile {
  cached ??= JSON.parse(readFileSync(VECTORS_PATH, 'utf8')) as VectorFile;
  return cached;
}

/**
 * `describe(name, ...)` over the vectors. When the shared folder is missing, the suite is skipped
 * with {@link VECTORS_MISSING_MESSAGE} on a developer machine, and fails under `CI=true`, where a
 * silently skipped conformance suite would pass a broken build.
 */
export function describeVectors(name: string, body: (vectors: VectorFile) => void): void {
  if (vectorsAvailable()) {
    describe(name, () => body(loadVectors()));
  } else if (process.env['CI'] === 'true') {
    describe(name, () => {
      it('has ../shared/arrpc-wire/vectors.json', () => {
        throw new Error(`${VECTORS_PATH} not found; vector tests cannot run under CI=true`);
      });
    });
  } else {
    describe.skip(`${name} (${VECTORS_MISSING_MESSAGE})`, () => {
      it(VECTORS_MISSING_MESSAGE, () => {});
    });
  }
}

/**
 * `it(name, body)` for a test that reads other files of ../shared/arrpc-wire
 * (the reference metrics): skipped with {@link VECTORS_MISSING_MESSAGE} when
 * the folder is missing on a developer machine, failing under `CI=true`.
 */
export function itWithWire(name: string, body: () => unknown): void {
  if (existsSync(WIRE_DIR) || process.env['CI'] === 'true') it(name, body);
  else it.skip(`${name} (${VECTORS_MISSING_MESSAGE})`, () => {});
}

/**
 * Converts a value in the vectors' tag scheme to the JS value a decoder
 * produces. The library's CLI reads the same scheme, so the tests use its
 * reader rather than a second copy.
 */
import { fromTaggedJson } from '../../lib/cli/tagged-json.js';

export { fromTaggedJson as fromTagged };

/** Hex of one turn as bytes. */
export function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/**
 * True when a tagged value holds a float64 with a whole value (Python `2.0`). JavaScript has one
 * number type: it decodes to `2` and is written back as the int `2`, so such a case is compared
 * by value, not by bytes.
 */
export function holdsWholeFloat(tagged: TaggedValue): boolean {
  if (Array.isArray(tagged)) return tagged.some(holdsWholeFloat);
  if (tagged === null || typeof tagged !== 'object') return false;
  const record = tagged as Record<string, TaggedValue>;
  if (typeof record['$float'] === 'string') {
    const value = fromTaggedJson(tagged) as number;
    return Number.isSafeInteger(value) && !Object.is(value, -0);
  }
  return Object.values(record).some(holdsWholeFloat);
}
