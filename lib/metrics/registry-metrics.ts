import { Histogram, type Counter, type Registry } from 'prom-client';
import { ARRPC_METRICS_OTHER_REASON } from '../constants.js';
import { CachedCounter } from './cached-counter.js';
import { METRIC_HELP, type ArrpcMetricName } from './metric-names.js';
import { SumCountSummary } from './sum-count-summary.js';

// Any number of servers and clients may record into one registry: each metric is looked up there
// first and created only when absent, so nobody meets prom-client's "already registered" error.

/** The registry's summary named `name`, created on first use. */
export function sharedSummary(registry: Registry, name: ArrpcMetricName, labelNames: readonly string[]): SumCountSummary {
  return shared(registry, name, labelNames, SumCountSummary, () =>
    new SumCountSummary({ name, help: METRIC_HELP[name], labelNames, registers: [registry] }),
  );
}

/** The registry's counter named `name`, created on first use. */
export function sharedCounter(registry: Registry, name: ArrpcMetricName, labelNames: readonly string[]): CachedCounter {
  return shared(registry, name, labelNames, CachedCounter, () =>
    new CachedCounter({ name, help: METRIC_HELP[name], labelNames, registers: [registry] }),
  );
}

/** The registry's histogram named `name`, created on first use with `buckets`. */
export function sharedHistogram(
  registry: Registry,
  name: ArrpcMetricName,
  labelNames: readonly string[],
  buckets: readonly number[],
): Histogram {
  return shared(registry, name, labelNames, Histogram, () =>
    new Histogram({ name, help: METRIC_HELP[name], labelNames, buckets: [...buckets], registers: [registry] }),
  );
}

function shared<M extends object>(
  registry: Registry,
  name: ArrpcMetricName,
  labelNames: readonly string[],
  kind: abstract new (...args: never[]) => M,
  create: () => M,
): M {
  const existing: object | undefined = registry.getSingleMetric(name);
  if (existing === undefined) return create();
  const existingLabels = (existing as { labelNames?: readonly string[] }).labelNames ?? [];
  if (existing instanceof kind && existingLabels.join() === labelNames.join()) return existing;
  throw new Error(
    `The prom-client registry already holds a metric named ${name} that nestjs-arrpc did not create ` +
      `(expected a ${kind.name} with labels ${labelNames.join(', ')}). Remove it, or give arrpc its own registry.`,
  );
}

// The reason bound is per counter, shared by every recorder writing to it.
const acceptedReasons = new WeakMap<Counter, Set<string>>();

/**
 * The children of one counter for one label set, by `reason`. Reasons are bounded per counter:
 * past `maxReasons` distinct values, a new one is counted as `other`.
 */
export class ReasonChildren {
  private readonly children = new Map<string, Counter.Internal>();
  private readonly accepted: Set<string>;

  constructor(
    private readonly counter: Counter,
    /** The counter's label names, in order. */
    private readonly labelNames: readonly string[],
    /** Every label but `reason`. */
    private readonly labels: Readonly<Record<string, string>>,
    private readonly maxReasons: number,
  ) {
    let accepted = acceptedReasons.get(counter);
    if (accepted === undefined) acceptedReasons.set(counter, (accepted = new Set()));
    this.accepted = accepted;
  }

  inc(reason: string): void {
    (this.children.get(reason) ?? this.create(reason)).inc();
  }

  private create(reason: string): Counter.Internal {
    if (!this.accepted.has(reason)) {
      if (this.accepted.size >= this.maxReasons) {
        // Not cached under `reason`: the map stays bounded whatever arrives.
        return this.children.get(ARRPC_METRICS_OTHER_REASON) ?? this.cache(ARRPC_METRICS_OTHER_REASON);
      }
      this.accepted.add(reason);
    }
    return this.cache(reason);
  }

  private cache(reason: string): Counter.Internal {
    const child = this.counter.labels(orderedLabels(this.labelNames, this.labels, 'reason', reason));
    this.children.set(reason, child);
    return child;
  }
}

/** The children of one histogram for one label set, by `pattern`. */
export class PatternChildren {
  private readonly children = new Map<string, Histogram.Internal<string>>();

  constructor(
    private readonly histogram: Histogram,
    /** The histogram's label names, in order. */
    private readonly labelNames: readonly string[],
    /** Every label but `pattern` (others are ignored). */
    private readonly labels: Readonly<Record<string, string>>,
  ) {}

  observe(pattern: string, seconds: number): void {
    let child = this.children.get(pattern);
    if (child === undefined) {
      child = this.histogram.labels(orderedLabels(this.labelNames, this.labels, 'pattern', pattern));
      this.children.set(pattern, child);
    }
    child.observe(seconds);
  }
}

/**
 * `labels` with `name` set to `value`, keys in `labelNames` order: prom-client writes a child's
 * labels in the order of the object it was made from, and we write them in the reference's order.
 */
function orderedLabels(
  labelNames: readonly string[],
  labels: Readonly<Record<string, string>>,
  name: string,
  value: string,
): Record<string, string> {
  const ordered: Record<string, string> = {};
  for (const label of labelNames) ordered[label] = label === name ? value : (labels[label] ?? '');
  return ordered;
}
