import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parsePromql as parse, queryableSeriesNames, readMetricCatalogue } from "@parley/metrics-catalogue";
import { DEFAULT_RUNBOOK_BASE_URL, runbookUrl } from "@parley/prometheus-rules";
import { describe, expect, it } from "vitest";
import { buildDashboards } from "../src/dashboards/index.js";
import type { AlertName } from "../src/links.js";
import { DATASOURCE } from "../src/panels.js";
import { QUERY_VARIABLES, substitute, variablesIn } from "../src/query-variables.js";
import { WORKSPACE, committedDashboards, queries, queryPanels, type Dashboard } from "./dashboards.js";

const dashboards = committedDashboards();

/** Every value under a `datasource` key, anywhere in the JSON. */
function datasourceRefs(node: unknown, path = "$", found: { path: string; value: unknown }[] = []) {
  if (Array.isArray(node)) node.forEach((item, i) => datasourceRefs(item, `${path}[${i}]`, found));
  else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "datasource") found.push({ path: `${path}.${key}`, value });
      datasourceRefs(value, `${path}.${key}`, found);
    }
  }
  return found;
}

describe("the dashboards", () => {
  it("are the five Parley dashboards, with stable uids and the parley tag", () => {
    expect(dashboards.map((d) => d.uid)).toEqual(["parley-overview", "parley-gateway", "parley-persister", "parley-delivery", "parley-runtime"]);
    for (const d of dashboards) expect(d.tags, d.uid).toContain("parley");
  });

  it("have unique panel ids and titles", () => {
    for (const d of dashboards) {
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size, `${d.uid}: panel ids`).toBe(ids.length);
      const titles = d.panels.map((p) => p.title);
      expect(new Set(titles).size, `${d.uid}: panel titles`).toBe(titles.length);
    }
  });

  it("have a Prometheus datasource variable and refer to no datasource but ${datasource}", () => {
    for (const d of dashboards) {
      const variable = d.templating.list.find((v) => v.name === "datasource");
      expect(variable, `${d.uid}: datasource variable`).toMatchObject({ type: "datasource", query: "prometheus" });
      const refs = datasourceRefs(d);
      const wrong = refs.filter((r) => JSON.stringify(r.value) !== JSON.stringify(DATASOURCE)).map((r) => `${r.path} = ${JSON.stringify(r.value)}`);
      expect(wrong, `${d.uid}: every datasource must be ${JSON.stringify(DATASOURCE)}`).toEqual([]);
      for (const panel of queryPanels(d)) {
        expect(panel.datasource, `${d.uid} / ${panel.title}`).toEqual(DATASOURCE);
        expect(panel.targets?.length, `${d.uid} / ${panel.title} has queries`).toBeGreaterThan(0);
        for (const target of panel.targets ?? []) expect(target.datasource, `${d.uid} / ${panel.title} / ${target.refId}`).toEqual(DATASOURCE);
      }
    }
  });

  it("have only the datasource, namespace and pod variables, with All matching series without the label", () => {
    for (const d of dashboards) {
      const names = d.templating.list.map((v) => v.name);
      expect(names.filter((n) => !["datasource", "namespace", "pod"].includes(n)), d.uid).toEqual([]);
      const namespace = d.templating.list.find((v) => v.name === "namespace");
      expect(namespace, `${d.uid}: namespace`).toMatchObject({
        type: "query",
        query: "label_values(parley_ready, namespace)",
        includeAll: true,
        allValue: ".*",
        datasource: DATASOURCE,
      });
      const pod = d.templating.list.find((v) => v.name === "pod");
      if (d.uid === "parley-overview") expect(pod, "the overview is cluster-wide").toBeUndefined();
      else expect(pod, `${d.uid}: pod`).toMatchObject({ type: "query", multi: true, includeAll: true, allValue: ".*", datasource: DATASOURCE });
    }
  });

  it("use no variables in queries but namespace, pod and Grafana's $__rate_interval, $__interval, $__range", () => {
    const wrong: string[] = [];
    for (const d of dashboards) {
      for (const q of queries(d)) for (const v of variablesIn(q.expr)) if (!(QUERY_VARIABLES as readonly string[]).includes(v)) wrong.push(`${q.where}: $${v}`);
      for (const v of d.templating.list) {
        if (typeof v.query !== "string" || v.type !== "query") continue;
        for (const name of variablesIn(v.query)) if (name !== "namespace") wrong.push(`${d.uid} variable ${v.name}: $${name}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("(the variable reader) finds Grafana's variables and leaves PromQL's own $1 alone", () => {
    const expr = 'label_replace(up{namespace=~"$namespace", pod=~"${pod}"}, "p", "$1", "pod", "(.*)")[$__rate_interval]';
    expect(variablesIn(expr)).toEqual(["namespace", "pod", "__rate_interval"]);
    expect(substitute(expr)).toBe('label_replace(up{namespace=~".*", pod=~".*"}, "p", "$1", "pod", "(.*)")[1m]');
  });

  it("filter every query by namespace, and per-pod dashboards by pod", () => {
    const unscoped: string[] = [];
    for (const d of dashboards) {
      for (const q of queries(d)) if (!q.expr.includes(`namespace=~"$namespace"`)) unscoped.push(q.where);
    }
    expect(unscoped).toEqual([]);
    const podScoped = dashboards.filter((d) => d.uid !== "parley-overview").flatMap((d) => queries(d).filter((q) => q.expr.includes(`pod=~"$pod"`)));
    expect(podScoped.length).toBeGreaterThan(0);
  });

  it("parse as PromQL (Prometheus's own grammar) after substituting the variables", () => {
    const broken: string[] = [];
    for (const d of dashboards) {
      for (const q of queries(d)) {
        const expr = substitute(q.expr);
        const { errors } = parse(expr);
        if (errors.length > 0) broken.push(`${q.where}: syntax error at ${errors[0]} in ${expr}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("query only metrics of the catalogue (docs/metrics.md) and Prometheus's own up", () => {
    // Histograms are known by their _bucket, _sum and _count series, so a query of a histogram's bare name fails here.
    const known = new Set([...queryableSeriesNames(readMetricCatalogue()), "up"]);
    const unknown: string[] = [];
    let selected = 0;
    for (const d of dashboards) {
      for (const q of queries(d)) {
        const { metrics } = parse(substitute(q.expr));
        if (metrics.length === 0) unknown.push(`${q.where}: selects no metric`);
        selected += metrics.length;
        for (const m of metrics) if (!known.has(m)) unknown.push(`${q.where}: ${m}`);
      }
      for (const v of d.templating.list) {
        if (v.type !== "query" || typeof v.query !== "string") continue;
        const selector = /^label_values\((.+),\s*\w+\)$/.exec(v.query)?.[1];
        expect(selector, `${d.uid} variable ${v.name}: label_values(selector, label)`).toBeDefined();
        for (const m of parse(substitute(selector!)).metrics) if (!known.has(m)) unknown.push(`${d.uid} variable ${v.name}: ${m}`);
      }
    }
    expect(unknown, "not in the catalogue: a typo, or a metric to agree on first").toEqual([]);
    expect(selected).toBeGreaterThan(100);
  });

  it("link the overview's panels to the runbook of every alert", () => {
    const alerts: AlertName[] = [
      "ParleySendLatencyBurnRate",
      "ParleySendErrorBurnRate",
      "ParleyPersisterLag",
      "ParleyQueueGrowing",
      "ParleyDependencyDown",
      "ParleyPodsNotReady",
      "ParleyHeartbeatLoss",
      "ParleyHandshakeFailures",
      "ParleyJobsFailing",
      "ParleyMetricsAbsent",
      "ParleyRedisMemoryHigh",
    ];
    const overview = dashboards.find((d) => d.uid === "parley-overview")!;
    const urls = new Set(overview.panels.flatMap((p) => (p.links ?? []).map((l) => l.url)));
    for (const alert of alerts) expect(urls, alert).toContain(runbookUrl(alert));
    expect(runbookUrl("ParleySendLatencyBurnRate")).toBe(`${DEFAULT_RUNBOOK_BASE_URL}/ParleySendLatencyBurnRate.md`);
    // Every runbook link anywhere is an alert's page in docs/runbooks/, as its runbook_url, and the page exists.
    const repoRoot = join(WORKSPACE, "..", "..");
    for (const d of dashboards)
      for (const p of d.panels)
        for (const l of p.links ?? []) {
          expect(l.url, `${d.uid} / ${p.title}`).toMatch(new RegExp(`^${DEFAULT_RUNBOOK_BASE_URL}/Parley[A-Za-z]+\\.md$`));
          expect(existsSync(join(repoRoot, l.url!)), `${d.uid} / ${p.title}: ${l.url} exists`).toBe(true);
        }
  });

  it("link to the runbook base the generator is given", () => {
    const base = "https://docs.example.org/parley/runbooks/";
    const rebased = buildDashboards({ runbookBaseUrl: base }).map((d) => JSON.parse(JSON.stringify(d.json)) as Dashboard);
    const links = rebased.flatMap((d) => d.panels.flatMap((p) => p.links ?? []));
    expect(links.length).toBe(dashboards.flatMap((d) => d.panels.flatMap((p) => p.links ?? [])).length);
    for (const l of links) {
      const alert = l.title.replace(/^Runbook: /, "");
      expect(l.url).toBe(runbookUrl(alert, base));
      expect(l.url).toBe(`https://docs.example.org/parley/runbooks/${alert}.md`);
    }
  });
});

describe("core-panels.json", () => {
  const core = JSON.parse(readFileSync(join(WORKSPACE, "core-panels.json"), "utf8")) as { dashboard: string; panel: string }[];

  it("names existing panels that query", () => {
    const missing = core.filter(({ dashboard, panel }) => {
      const d = dashboards.find((x) => x.uid === dashboard);
      return !d || !queryPanels(d).some((p) => p.title === panel && (p.targets?.length ?? 0) > 0);
    });
    expect(missing).toEqual([]);
  });

  it("holds the overview's latency, messages/s, sockets, lag, queue depth and pods ready, and some of every dashboard", () => {
    const overview = core.filter((c) => c.dashboard === "parley-overview").map((c) => c.panel);
    expect(overview).toEqual(
      expect.arrayContaining(["Send→ack latency", "Messages per second", "Connected sockets", "Persister lag", "Queue depth", "Pods ready"]),
    );
    for (const d of dashboards) expect(core.filter((c) => c.dashboard === d.uid).length, d.uid).toBeGreaterThanOrEqual(3);
  });
});
