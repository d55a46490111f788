import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_VARIABLES, loadCorePanels, loadDashboards, queriesOfPanel, substituteVariables } from "./dashboards.js";
import { prometheusBinary, prometheusConfig } from "./prometheus.js";
import { FIXTURE } from "./repo-files.js";
import { loadRuleFiles } from "./rule-files.js";

// The file readers of the Prometheus proof, without a Prometheus: what they find in a
// dashboard and how they fill in Grafana's variables.

describe("dashboard queries", () => {
  it("fills in every variable form Grafana knows, and leaves PromQL's own $1 alone", () => {
    const values = { ...BUILTIN_VARIABLES, quantile: "0.99" };
    expect(substituteVariables('rate(x{namespace="$namespace", pod=~"${pod}"}[$__rate_interval])', values)).toBe('rate(x{namespace="parley", pod=~".*"}[15s])');
    expect(substituteVariables("histogram_quantile([[quantile]], y) or ${pod:regex} $__range", values)).toBe("histogram_quantile(0.99, y) or .* 5m");
    expect(substituteVariables('label_replace(up, "p", "$1", "pod", "(.*)")', values)).toBe('label_replace(up, "p", "$1", "pod", "(.*)")');
    expect(() => substituteVariables("up{job=\"$job\"}", values)).toThrow(/undefined template variable \$job/);
  });

  it("finds the queries of panels nested in rows, of the old rows layout and of annotations; skips text panels and other datasources", () => {
    const dir = mkdtempSync(join(tmpdir(), "parley-dashboards-"));
    writeFileSync(
      join(dir, "a.json"),
      JSON.stringify({
        uid: "a",
        title: "A",
        templating: { list: [{ name: "datasource", type: "datasource" }, { name: "service", type: "query", current: { value: "gateway" } }] },
        annotations: { list: [{ name: "deploys", expr: "changes(process_start_time_seconds[$__interval])" }] },
        panels: [
          { id: 1, title: "top", type: "stat", targets: [{ refId: "A", expr: 'up{service="$service"}' }] },
          { id: 2, title: "row", type: "row", panels: [{ id: 3, title: "nested", targets: [{ expr: "sum(x)" }, { expr: "sum(y)" }] }] },
          { id: 4, title: "notes", type: "text" },
          { id: 5, title: "logs", targets: [{ refId: "A", expr: "{app=\"x\"}", datasource: { type: "loki" } }] },
          { id: 6, title: "typo", targets: [{ refId: "A", expr: "up{pod=\"$podd\"}" }] },
        ],
      }),
    );
    writeFileSync(join(dir, "old.json"), JSON.stringify({ title: "Old", rows: [{ panels: [{ id: 1, title: "in a row", targets: [{ expr: "sum(z)" }] }] }] }));
    const [a, old] = loadDashboards(dir);
    expect(a!.queries.map((q) => [q.panelTitle, q.refId, q.expr])).toEqual([
      ["top", "A", 'up{service="gateway"}'],
      ["nested", "A", "sum(x)"],
      ["nested", "B", "sum(y)"],
      ["typo", "A", 'up{pod="$podd"}'],
      ["annotation deploys", "annotation", "changes(process_start_time_seconds[5s])"],
    ]);
    expect(a!.queries.find((q) => q.panelTitle === "typo")!.substitutionError).toMatch(/undefined template variable \$podd/);
    expect(old!.queries.map((q) => q.expr)).toEqual(["sum(z)"]);
    expect(queriesOfPanel([a!, old!], { dashboard: "a", panel: 3 })).toHaveLength(2);
    expect(queriesOfPanel([a!, old!], { dashboard: "old.json", panel: "in a row" })).toHaveLength(1);
    expect(() => loadDashboards(join(dir, "nothing-here"))).toThrow(/no dashboards \(\*\.json\) in .*nothing-here/);
    expect(() => loadCorePanels(join(dir, "core-panels.json"))).toThrow(/core-panels\.json does not exist/);
  });

  it("the fixture's core panels all exist", () => {
    const dashboards = loadDashboards(FIXTURE.dashboards);
    for (const core of loadCorePanels(FIXTURE.corePanels)) expect(queriesOfPanel(dashboards, core).length, JSON.stringify(core)).toBeGreaterThan(0);
  });
});

describe("rule files and the Prometheus configuration", () => {
  it("reads every group and rule of a rule file; throws when the directory has none", () => {
    const fixture = loadRuleFiles(FIXTURE.rules);
    expect(fixture.groups.map((g) => g.name)).toEqual(["fixture-parley-recording", "fixture-parley-alerts"]);
    expect(fixture.rules.filter((r) => r.kind === "alerting")).toHaveLength(3);
    expect(() => loadRuleFiles("/nonexistent")).toThrow(/no rule files \(\*\.rules\.yml\) in \/nonexistent/);
    expect(() => loadRuleFiles(FIXTURE.dashboards)).toThrow(/no rule files/);
  });

  it("says what to install when the prometheus binary is missing", () => {
    expect(() => prometheusBinary("prometheus-not-installed-here")).toThrow(/binary is missing.*apt-get install --no-install-recommends prometheus/);
  });

  it("writes one scrape job per job label, with the Kubernetes labels on each target", () => {
    const config = prometheusConfig({
      targets: [
        { job: "parley-gateway", address: "127.0.0.1:1", labels: { namespace: "parley", pod: "gateway-0" } },
        { job: "parley-gateway", address: "127.0.0.1:2", labels: { namespace: "parley", pod: "gateway-1" } },
        { job: "parley/parley-workers", address: "127.0.0.1:3", labels: { namespace: "parley", pod: "persister-0" } },
      ],
      ruleFiles: ["/tmp/a.rules.yml"],
      intervalSeconds: 1,
    });
    expect(config).toContain("scrape_interval: 1s");
    expect(config).toContain("evaluation_interval: 1s");
    expect(config.match(/job_name:/g)).toHaveLength(2);
    expect(config).toContain("pod: gateway-1");
  });
});
