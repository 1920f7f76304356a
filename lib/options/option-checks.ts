// The checks behind every options resolver (server, client, metrics recorder, metrics module,
// health indicator). Each takes an option's name and value and returns the value (or its
// resolved form), or throws a TypeError in the one format of option errors:
//   Invalid <Subject> option "<name>": expected <what>, got <value>
//   Invalid <Subject> option "<name>": <why>      (a rule between options, an unknown option)
// Values are described briefly (long strings cut, objects by kind); a secret never is.
import type { Registry } from 'prom-client';
import type { ArrpcMetricsHistogramOptions } from './histogram-options.js';

/** Longest timeout, in ms, a Node timer can wait (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** Longest string shown in an error; longer ones are cut. */
const SHOWN_STRING_LENGTH = 60;
/** Most array elements shown in an error. */
const SHOWN_ELEMENTS = 10;

/** The checks, each naming `subject` (`ArrpcServer`, `ArrpcClient`, ...) in its errors. */
export type OptionChecks = ReturnType<typeof optionChecks>;

export function optionChecks(subject: string) {
  const refused = (name: string, why: string): TypeError => new TypeError(`Invalid ${subject} option "${name}": ${why}`);
  const invalid = (name: string, expected: string, value: unknown): TypeError =>
    refused(name, `expected ${expected}, got ${describeValue(value)}`);

  /** A duration a timer can wait: above 0, at most {@link MAX_TIMEOUT_MS}. */
  const milliseconds = (name: string, value: unknown, hint = ''): number => {
    if (typeof value !== 'number' || !(value > 0 && value <= MAX_TIMEOUT_MS)) {
      throw invalid(name, `a number of milliseconds above 0, at most ${MAX_TIMEOUT_MS}${hint}`, value);
    }
    return value;
  };

  return {
    /** The error for a value of the wrong kind or out of range. */
    invalid,
    /** The error for a value that breaks a rule between options, or is refused for a reason of its own. */
    refused,

    /** `options` is an object (or absent) with no key outside `known`: a misspelt option is not silently ignored. */
    knownKeys<T extends object>(options: T | null | undefined, known: ReadonlySet<string>): T | Record<string, never> {
      if (options === undefined) return {};
      if (options === null || typeof options !== 'object' || Array.isArray(options)) {
        throw new TypeError(`Invalid ${subject} options: expected an object, got ${describeValue(options)}`);
      }
      for (const key of Object.keys(options)) if (!known.has(key)) throw refused(key, 'no such option');
      return options;
    },

    /** A safe integer from `min` to `max`. */
    integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
      if (!Number.isSafeInteger(value) || (value as number) < min || (value as number) > max) {
        throw invalid(name, `an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}`, value);
      }
      return value as number;
    },

    milliseconds,

    /** {@link milliseconds} for an option that is off when unset. */
    optionalPositive(name: string, value: unknown): number | undefined {
      return value === undefined ? undefined : milliseconds(name, value, ' (leave it unset for none)');
    },

    /** A finite number of milliseconds, 0 or more. */
    nonNegative(name: string, value: unknown): number {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw invalid(name, 'a finite number of milliseconds, 0 or more', value);
      }
      return value;
    },

    /** A finite number, 0 or more. */
    finiteNonNegative(name: string, value: unknown): number {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(name, 'a finite number, 0 or more', value);
      return value;
    },

    text(name: string, value: unknown): string {
      if (typeof value !== 'string' || value === '') throw invalid(name, 'a non-empty string', value);
      return value;
    },

    /** A non-empty string whose value is never shown, as it may be a real secret of the wrong type. */
    secret(name: string, value: unknown): string {
      if (typeof value !== 'string' || value === '') {
        throw refused(name, `expected a non-empty string, got ${value === '' ? 'an empty string' : kindOf(value)}`);
      }
      return value;
    },

    boolean(name: string, value: unknown): boolean {
      if (typeof value !== 'boolean') throw invalid(name, 'true or false', value);
      return value;
    },

    object<T>(name: string, value: T, expected = 'an object'): T {
      if (value === null || typeof value !== 'object') throw invalid(name, expected, value);
      return value;
    },

    func<T>(name: string, value: unknown, expected = 'a function'): T {
      if (typeof value !== 'function') throw invalid(name, expected, value);
      return value as T;
    },

    oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
      if (!allowed.includes(value as T)) throw invalid(name, allowed.map((entry) => `'${entry}'`).join(' or '), value);
      return value as T;
    },

    /** Anything with prom-client's `Registry` methods (a second copy of prom-client's too). */
    registry(name: string, value: unknown): Registry {
      if (value === null || typeof value !== 'object' || typeof (value as Registry).getSingleMetric !== 'function') {
        throw invalid(name, 'a prom-client Registry', value);
      }
      return value as Registry;
    },

    /** `true`, `false` or `{ buckets? }`, the buckets copied and frozen. */
    histogram(name: string, value: unknown): boolean | Readonly<ArrpcMetricsHistogramOptions> {
      if (typeof value === 'boolean') return value;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(name, 'a boolean or { buckets }', value);
      const buckets: unknown = (value as ArrpcMetricsHistogramOptions).buckets;
      if (buckets === undefined) return Object.freeze({});
      if (!areHistogramBuckets(buckets)) {
        throw invalid(`${name}.buckets`, 'a non-empty array of finite, strictly increasing numbers', buckets);
      }
      return Object.freeze({ buckets: Object.freeze([...buckets]) });
    },
  };
}

/** `check(value)`, or undefined for an option left out (or set to `undefined`). */
export function optional<T>(value: unknown, check: (value: unknown) => T): T | undefined {
  return value === undefined ? undefined : check(value);
}

/** True for a non-empty array of finite, strictly increasing numbers: what prom-client takes as buckets. */
function areHistogramBuckets(value: unknown): value is readonly number[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((b: unknown, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > value[i - 1]))
  );
}

/** A value as an error shows it: numbers and short strings as they are, the rest by kind. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value.length > SHOWN_STRING_LENGTH ? `${value.slice(0, SHOWN_STRING_LENGTH)}...` : value);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null) return String(value);
  if (Array.isArray(value)) {
    const shown = value.slice(0, SHOWN_ELEMENTS).map(describeValue);
    return value.length === 0 ? 'an empty array' : `[${shown.join(', ')}${value.length > SHOWN_ELEMENTS ? ', ...' : ''}]`;
  }
  return kindOf(value);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
