// A small reader of the Prometheus text format, for comparing our scrapes with the reference's
// (../shared/arrpc-wire/metrics-*.txt, read in place).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { WIRE_DIR } from './vectors.js';

export interface Sample {
  readonly name: string;
  /** Label names in the order written. */
  readonly labelNames: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;

/** Families by name, samples under the family whose TYPE line came last. */
export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  let current: Family | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (kind === 'HELP') helps.set(name, rest);
      else families.set(name, (current = { name, type: rest, help: helps.get(name) ?? '', samples: [] }));
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match || !current) throw new Error(`not an exposition line: ${line}`);
    current.samples.push({ name: match[1]!, ...parseLabels(match[2] ?? ''), value: parseValue(match[3]!) });
  }
  return families;
}

function parseLabels(text: string): { labelNames: string[]; labels: Record<string, string> } {
  const labelNames: string[] = [];
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  let match: RegExpExecArray | null;
  while ((match = LABEL.exec(text)) !== null) {
    labelNames.push(match[1]!);
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  }
  if (LABEL.lastIndex !== 0 && LABEL.lastIndex !== text.length) throw new Error(`bad labels: ${text}`);
  return { labelNames, labels };
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/**
 * The reference's families from `metrics-<side>.txt`, without its `_created` gauges: prom-client
 * has no such series (DECISIONS.md, "Metrics").
 */
export function referenceFamilies(side: 'server' | 'client'): Map<string, Family> {
  const text = readFileSync(resolve(WIRE_DIR, `metrics-${side}.txt`), 'utf8');
  const families = parseExposition(text);
  for (const name of families.keys()) if (name.endsWith('_created')) families.delete(name);
  return families;
}

/** What "matches exactly" compares: name, type, HELP, and each sample's name with its label names. */
export function familyShape(family: Family): { name: string; type: string; help: string; samples: string[] } {
  const samples = [...new Set(family.samples.map((s) => `${s.name}{${s.labelNames.join(',')}}`))].sort();
  return { name: family.name, type: family.type, help: family.help, samples };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when none. */
export function sampleValue(
  families: Map<string, Family>,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const found = [...families.values()]
    .flatMap((family) => family.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
