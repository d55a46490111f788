/**
 * The only variables a dashboard query may use: the dashboards' own template variables and
 * Grafana's built-in intervals. Anything that evaluates the queries outside Grafana (the tests
 * here, the proof against a real Prometheus) substitutes exactly these.
 */
export const TEMPLATE_VARIABLES = ["datasource", "namespace", "pod"] as const;
export const BUILTIN_VARIABLES = ["__rate_interval", "__interval", "__range"] as const;
export const QUERY_VARIABLES = ["namespace", "pod", ...BUILTIN_VARIABLES] as const;

/**
 * `$name` or `${name}` (Grafana also has `[[name]]`, which the dashboards never use). A name
 * starts with a letter or `_`: `$1` in a `label_replace` replacement is PromQL's, not Grafana's.
 */
const VARIABLE = /\$\{([A-Za-z_]\w*)(?::\w+)?\}|\$([A-Za-z_]\w*)/g;

/** The variables a query names, in order of appearance. */
export function variablesIn(expr: string): string[] {
  return [...expr.matchAll(VARIABLE)].map((m) => (m[1] ?? m[2])!);
}

export interface Substitution {
  /** Both are regex matchers; `.*` is what "All" stands for. */
  namespace: string;
  pod: string;
  /** Prometheus durations. $__rate_interval must cover at least four scrapes. */
  rateInterval: string;
  interval: string;
  range: string;
}

/** What the dashboards show with All selected, a 15 s scrape interval and a 1 h time range. */
export const DEFAULT_SUBSTITUTION: Substitution = { namespace: ".*", pod: ".*", rateInterval: "1m", interval: "15s", range: "1h" };

/** The query as Prometheus would receive it from Grafana. Throws on a variable outside the allowed set. */
export function substitute(expr: string, values: Substitution = DEFAULT_SUBSTITUTION): string {
  const byName: Record<string, string> = {
    namespace: values.namespace,
    pod: values.pod,
    __rate_interval: values.rateInterval,
    __interval: values.interval,
    __range: values.range,
  };
  return expr.replace(VARIABLE, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = byName[name];
    if (value === undefined) throw new Error(`${whole} is not a variable a Parley dashboard query may use (${QUERY_VARIABLES.join(", ")})`);
    return value;
  });
}
