/**
 * PromQL fragments the dashboards are written with. Every selector carries the dashboard's
 * template variables, so one helper decides how a panel is filtered; the proof of issue 4
 * evaluates the queries against a real Prometheus after substituting exactly these variables
 * and Grafana's built-ins ($__rate_interval, $__interval, $__range).
 */

/**
 * Which variables filter a dashboard's selectors: `namespace` on every dashboard, `pod` on the
 * per-pod ones. Both are regex matchers whose "All" value is `.*`, which also matches a series
 * without the label: a local cluster scraped without Kubernetes still fills every panel.
 */
export interface Scope {
  pod: boolean;
}

export class Q {
  constructor(private readonly scope: Scope) {}

  /** `metric{namespace=~"$namespace"[, pod=~"$pod"], …matchers}`. */
  sel(metric: string, ...matchers: string[]): string {
    const scoped = [`namespace=~"$namespace"`, ...(this.scope.pod ? [`pod=~"$pod"`] : []), ...matchers];
    return `${metric}{${scoped.join(", ")}}`;
  }

  /** The same selector without the pod filter: for cluster-wide figures such as queue depth. */
  clusterSel(metric: string, ...matchers: string[]): string {
    return `${metric}{${[`namespace=~"$namespace"`, ...matchers].join(", ")}}`;
  }

  /** Per-second rate over Grafana's rate interval (at least four scrapes, whatever the zoom). */
  rate(metric: string, ...matchers: string[]): string {
    return `rate(${this.sel(metric, ...matchers)}[$__rate_interval])`;
  }

  /** `sum by (…) (rate(…))`, or `sum(rate(…))` without grouping labels. */
  sumRate(by: readonly string[], metric: string, ...matchers: string[]): string {
    return `${sumBy(by)}(${this.rate(metric, ...matchers)})`;
  }

  /** A quantile of a histogram, aggregated over pods and kept apart by `by`. */
  quantile(q: number, histogram: string, by: readonly string[] = [], ...matchers: string[]): string {
    return `histogram_quantile(${q}, sum by (${["le", ...by].join(", ")}) (${this.rate(`${histogram}_bucket`, ...matchers)}))`;
  }

  /** Mean of a histogram's observations per interval: sum / count. */
  mean(histogram: string, by: readonly string[] = [], ...matchers: string[]): string {
    return `${this.sumRate(by, `${histogram}_sum`, ...matchers)} / ${this.sumRate(by, `${histogram}_count`, ...matchers)}`;
  }

  /** Buckets as a Grafana heatmap frame (target format `heatmap`, legend `{{le}}`). */
  heatmap(histogram: string, ...matchers: string[]): string {
    return `sum by (le) (${this.rate(`${histogram}_bucket`, ...matchers)})`;
  }
}

/**
 * A BullMQ queue-wide figure: every replica of a worker exports the same queue's counts, so
 * take one copy per queue (the max over replicas, within one namespace: another namespace is
 * another Parley with its own Redis), then add up, kept apart by `by`.
 */
export function queueWide(by: readonly string[], series: string): string {
  // `state` is absent from the counters; grouping by a missing label is harmless.
  return `${sumBy(by)}(max by (namespace, queue, state) (${series}))`;
}

/**
 * A persist stream figure (its backlog, pending list, oldest pending entry): every persister
 * exports the same value per partition, read from Redis, so one copy per namespace and
 * partition (the max over pods), then added up over the partitions and namespaces shown.
 */
export function streamWide(series: string): string {
  return `sum(max by (namespace, partition) (${series}))`;
}

function sumBy(by: readonly string[]): string {
  return by.length > 0 ? `sum by (${by.join(", ")}) ` : "sum";
}

/** The legend of a per-pod series: the pod in Kubernetes, the scrape address elsewhere. */
export const POD_LEGEND = "{{pod}} {{instance}}";

/** Labels that tell one pod apart, in Kubernetes (pod) and outside it (instance). */
export const POD_LABELS = ["pod", "instance"] as const;
