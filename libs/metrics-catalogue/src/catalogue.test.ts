import { describe, expect, it } from "vitest";
import { parseMetricCatalogue, queryableSeriesNames, readMetricCatalogue } from "./catalogue.js";

const doc = (parley: string, runtime = "| `process_open_fds` | gauge | 1 | open fds |") => `
<!-- metrics:start (checked) -->
| metric | type | labels (values) | unit | services | meaning | typical query |
|---|---|---|---|---|---|---|
${parley}
<!-- metrics:end -->
<!-- runtime-metrics:start -->
| metric | type | unit | meaning |
|---|---|---|---|
${runtime}
<!-- runtime-metrics:end -->
`;

describe("the metric catalogue", () => {
  it("reads docs/metrics.md: Parley's families and the Node runtime's", () => {
    const catalogue = readMetricCatalogue();
    const byName = new Map(catalogue.map((e) => [e.name, e]));
    expect(byName.get("parley_gateway_send_ack_seconds")).toEqual({
      name: "parley_gateway_send_ack_seconds",
      type: "histogram",
      labels: ["outcome"],
      services: ["gateway"],
      runtime: false,
    });
    expect(byName.get("parley_up")).toMatchObject({ labels: ["dependency"], services: ["delivery", "gateway", "persister"] });
    expect(byName.get("nodejs_gc_duration_seconds")).toMatchObject({ type: "histogram", labels: ["kind"], runtime: true });
    expect(catalogue.filter((e) => !e.runtime).length).toBeGreaterThan(40);
    expect(catalogue.filter((e) => e.runtime).length).toBeGreaterThan(20);
  });

  it("reads a query cell's escaped pipe as text, and a row's columns by the header's names", () => {
    const [entry] = parseMetricCatalogue(
      doc("| `parley_x_total` | counter | `outcome` (a, b), `reason` | 1 | persister, gateway | x | `sum(rate(parley_x_total{outcome=~\"a\\|b\"}[5m]))` |"),
    );
    expect(entry).toEqual({ name: "parley_x_total", type: "counter", labels: ["outcome", "reason"], services: ["gateway", "persister"], runtime: false });
  });

  it("refuses a missing table, an unknown type or service, and a family listed twice", () => {
    expect(() => parseMetricCatalogue("# nothing")).toThrow(/no table between <!-- metrics:start -->/);
    expect(() => parseMetricCatalogue(doc("| `parley_x` | summary | — | 1 | gateway | x | x |"))).toThrow(/unreadable row.*parley_x/s);
    expect(() => parseMetricCatalogue(doc("| `parley_x` | gauge | — | 1 | gateways | x | x |"))).toThrow(/unreadable row/);
    expect(() => parseMetricCatalogue(doc("| `process_open_fds` | gauge | — | 1 | gateway | x | x |"))).toThrow(/lists process_open_fds twice/);
  });

  it("names a histogram's series by their suffixes", () => {
    expect([...queryableSeriesNames([{ name: "a_seconds", type: "histogram" }, { name: "b_total", type: "counter" }])].sort()).toEqual([
      "a_seconds_bucket",
      "a_seconds_count",
      "a_seconds_sum",
      "b_total",
    ]);
  });
});
