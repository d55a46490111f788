import { parser } from "@prometheus-io/lezer-promql";

/**
 * PromQL read with Prometheus's own grammar (the Lezer parser of the Prometheus web UI), to
 * find the metric names a query selects and to catch syntax errors without a server. The
 * dashboards' and the rules' tests check those names against the catalogue with it.
 */
export function parsePromql(expr: string): { errors: number[]; metrics: string[] } {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const metrics: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      // A VectorSelector's Identifier is the metric name (matrix selectors wrap a VectorSelector).
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") metrics.push(expr.slice(node.from, node.to));
    },
  });
  return { errors, metrics };
}
