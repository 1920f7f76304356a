import { ExtData } from '@msgpack/msgpack';
import { ArrpcTimestamp } from '../protocol/index.js';

/**
 * JSON cannot hold every MessagePack value, so the CLI reads and writes the
 * tag scheme of the reference captures (vectors.json `value_tags`): a
 * one-key object whose key starts with `$`.
 *
 * | tag | value |
 * |---|---|
 * | `{"$bin": "00ff"}` | bytes as hex |
 * | `{"$int": "9223372036854775813"}` | an integer beyond ±(2^53 − 1) |
 * | `{"$float": "2.0"}` | a float JSON would show as an int, or `inf`, `-inf`, `nan`, `-0.0` |
 * | `{"$map": [[1, "a"]]}` | a map with keys that are not str |
 * | `{"$timestamp": [seconds, nanoseconds]}` | a MessagePack timestamp |
 * | `{"$ext": [type, "hex"]}` | another ext type |
 */
export function fromTaggedJson(tagged: unknown): unknown {
  if (Array.isArray(tagged)) return tagged.map(fromTaggedJson);
  if (tagged === null || typeof tagged !== 'object') return tagged;
  const entries = Object.entries(tagged);
  const [key, payload] = entries.length === 1 ? entries[0]! : [];
  switch (key) {
    case '$bin':
      return bytesFromHex('$bin', payload);
    case '$int':
      return BigInt(String(payload));
    case '$float':
      return parsePythonFloat(String(payload));
    case '$map':
      return new Map((payload as [unknown, unknown][]).map(([k, v]) => [fromTaggedJson(k), fromTaggedJson(v)]));
    case '$timestamp': {
      const [seconds, nanoseconds] = payload as [number, number];
      return new ArrpcTimestamp(seconds, nanoseconds);
    }
    case '$ext': {
      const [type, hex] = payload as [number, unknown];
      return new ExtData(type, bytesFromHex('$ext', hex));
    }
    default:
      return Object.fromEntries(entries.map(([k, v]) => [k, fromTaggedJson(v)]));
  }
}

/** The inverse of {@link fromTaggedJson}: a value JSON.stringify can write. */
export function toTaggedJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bin: Buffer.from(value).toString('hex') };
  if (typeof value === 'bigint') return { $int: value.toString() };
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0))) {
    return { $float: formatPythonFloat(value) };
  }
  if (Array.isArray(value)) return value.map(toTaggedJson);
  if (value instanceof ArrpcTimestamp) return { $timestamp: [value.seconds, value.nanoseconds] };
  if (value instanceof ExtData) return { $ext: [value.type, Buffer.from(value.data as Uint8Array).toString('hex')] };
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toTaggedJson(k), toTaggedJson(v)]) };
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toTaggedJson(v)]));
  }
  return value ?? null;
}

/** Hex digits in pairs as bytes. Buffer.from(text, 'hex') would stop quietly at the first bad digit. */
function bytesFromHex(tag: string, hex: unknown): Uint8Array {
  if (typeof hex !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(hex)) {
    throw new Error(`"${tag}" must be hex digits in pairs, not ${JSON.stringify(hex)}`);
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function parsePythonFloat(text: string): number {
  if (text === 'inf') return Infinity;
  if (text === '-inf') return -Infinity;
  if (text === 'nan') return NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`"$float" must be a Python float repr, not ${JSON.stringify(text)}`);
  return value;
}

function formatPythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return '-0.0';
}
