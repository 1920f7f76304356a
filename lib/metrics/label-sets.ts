/** A label set as prom-client takes it: any of a metric's labels, by name. */
export type Labels<T extends string> = Partial<Record<T, string | number>>;

/**
 * Label values in `labelNames` order, from positional values or an object (a missing label is
 * null), refused with prom-client's own messages when they do not fit the metric.
 */
export function labelValues<T extends string>(labelNames: readonly T[], args: [Labels<T>] | string[]): (string | null)[] {
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
export function labelObject<T extends string>(labelNames: readonly T[], values: readonly (string | null)[]): Labels<T> {
  const labels: Labels<T> = {};
  labelNames.forEach((name, i) => {
    const value = values[i];
    if (value !== null && value !== undefined) labels[name] = value;
  });
  return Object.freeze(labels);
}
