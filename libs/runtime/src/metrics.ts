import { type Counter, type LabelValues, Registry, collectDefaultMetrics } from "prom-client";

/** One registry per service instance (tests start several in one process), with Node runtime metrics. */
export function createMetricsRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Exports each of `labelSets` at 0 from the start. prom-client exports a labelled series only
 * once it is incremented, so without this a process's first failure would appear as a new
 * series already at 1, which `increase()` and `rate()` cannot see (they need two samples).
 * For counters with a small fixed set of values only: every set is a series of its own.
 */
export function startAtZero<T extends string>(counter: Counter<T>, labelSets: readonly LabelValues<T>[]): Counter<T> {
  for (const labels of labelSets) counter.inc(labels, 0);
  return counter;
}

/** One label's values as label sets, for `startAtZero`. */
export const eachOf = <T extends string>(label: T, values: readonly string[]): LabelValues<T>[] =>
  values.map((value) => ({ [label]: value }) as LabelValues<T>);
