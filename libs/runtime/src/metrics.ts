import { Registry, collectDefaultMetrics } from "prom-client";

/** One registry per service instance (tests start several in one process), with Node runtime metrics. */
export function createMetricsRegistry(labels: Record<string, string>): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}
