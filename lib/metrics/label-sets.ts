/** A label set as prom-client takes it: any of a metric's labels, by name. */
export type Labels<T extends string> = Partial<Record<T, string | number>>;

/**
 * Label values in `labelNames` order, from positional values or an object (a missing label is
 * null), refused with prom-client's own messages when they do not fit the metric.
 */
function labelValues<T extends string>(labelNames: readonly T[], args: [Labels<T>] | string[]): (string | null)[] {
  const [first] = args;
  if (typeof first === 'object' && first !== null) {
    for (const name of Object.keys(first)) {
      if (!labelNames.includes(name as T)) {
        throw new Error(`Added label "${name}" is not included in initial labelset: ${labelNames.join(', ')}`);
      }
    }
    return labelNames.map((name) => (first[name] === undefined ? null : String(first[name])));
  }
  if (args.length !== labelNames.length) {
    throw new Error(`Invalid number of arguments (${args.length}) for label names (${labelNames.length}): ${labelNames.join(', ')}`);
  }
  return (args as string[]).map(String);
}

/** The frozen label object of one label set, without its missing labels. */
function labelObject<T extends string>(labelNames: readonly T[], values: readonly (string | null)[]): Labels<T> {
  const labels: Labels<T> = {};
  labelNames.forEach((name, i) => {
    const value = values[i];
    if (value !== null && value !== undefined) labels[name] = value;
  });
  return Object.freeze(labels);
}

/**
 * The children of one metric, one per label set, keyed by their values in `labelNames` order
 * whatever form they are asked in: hot paths keep a child and count through it.
 */
export class LabelSets<T extends string, C> {
  private readonly byKey = new Map<string, C>();

  constructor(
    private readonly labelNames: readonly T[],
    /** Makes the child of a label set, given its frozen label object. */
    private readonly make: (labels: Labels<T>) => C,
  ) {}

  /** The child of the label set `args` names: made on first use, the same object afterwards. */
  get(args: [Labels<T>] | string[]): C {
    const values = labelValues(this.labelNames, args);
    const key = JSON.stringify(values);
    let child = this.byKey.get(key);
    if (child === undefined) {
      child = this.make(labelObject(this.labelNames, values));
      this.byKey.set(key, child);
    }
    return child;
  }

  /** The child of the label set `args` names, if it was made. */
  find(args: [Labels<T>] | string[]): C | undefined {
    return this.byKey.get(JSON.stringify(labelValues(this.labelNames, args)));
  }

  delete(args: [Labels<T>] | string[]): void {
    this.byKey.delete(JSON.stringify(labelValues(this.labelNames, args)));
  }

  values(): IterableIterator<C> {
    return this.byKey.values();
  }
}
