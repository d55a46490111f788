import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parsePromql, queryableSeriesNames, readMetricCatalogue } from "@parley/metrics-catalogue";
import { describe, expect, it } from "vitest";
import { BURN_WINDOWS } from "../src/burn-rate.js";
import type { AlertingRule } from "../src/rule.js";
import { alertNames, parleyRuleGroups } from "../src/rules.js";
import { DEFAULT_RUNBOOK_BASE_URL, runbookUrl } from "../src/runbook.js";
import { promtoolTestFiles } from "./paths.js";
import { alertCases, ruleFilesOf } from "./promtool-tests.js";
import { ROOT } from "./paths.js";

const groups = parleyRuleGroups();
const alerts = groups.flatMap((g) => g.rules.filter((r): r is AlertingRule => "alert" in r));
const records = new Set(groups.flatMap((g) => g.rules.flatMap((r) => ("record" in r ? [r.record] : []))));

/** The names agreed with the dashboards, which link panels to these alerts' runbooks. */
const AGREED_ALERTS = [
  "ParleySendLatencyBurnRate",
  "ParleySendErrorBurnRate",
  "ParleyPersisterLag",
  "ParleyQueueGrowing",
  "ParleyJobsFailing",
  "ParleyHandshakeFailures",
  "ParleyDependencyDown",
  "ParleyPodsNotReady",
  "ParleyHeartbeatLoss",
  "ParleyMetricsAbsent",
  "ParleyRedisMemoryHigh",
  "ParleyJwksUnreachable",
  "ParleyModerationFailing",
  "ParleyRetentionBehind",
];

describe("the alerts", () => {
  it("are exactly the agreed ones", () => {
    expect(alertNames().sort()).toEqual([...AGREED_ALERTS].sort());
  });

  it("each link to their runbook, which docs/runbooks/ has", () => {
    for (const rule of alerts) {
      const page = `docs/runbooks/${rule.alert}.md`;
      expect(rule.annotations.runbook_url).toBe(`${DEFAULT_RUNBOOK_BASE_URL}/${rule.alert}.md`);
      expect(existsSync(join(ROOT, page)), `${page} is missing`).toBe(true);
      expect(readFileSync(join(ROOT, page), "utf8"), `${page} has no title`).toMatch(new RegExp(`^# ${rule.alert}\\b`));
    }
  });

  it("link to the runbook base the generator is given", () => {
    const base = "https://docs.example.org/parley/runbooks/";
    for (const rule of parleyRuleGroups({ runbookBaseUrl: base }).flatMap((g) => g.rules.filter((r): r is AlertingRule => "alert" in r))) {
      expect(rule.annotations.runbook_url).toBe(runbookUrl(rule.alert, base));
      expect(rule.annotations.runbook_url).toBe(`https://docs.example.org/parley/runbooks/${rule.alert}.md`);
    }
  });

  it("read only metrics of the catalogue (docs/metrics.md), Prometheus's own up and the recording rules", () => {
    // Histograms are known by their _bucket, _sum and _count series, so a rule reading a histogram's bare name fails here.
    const known = new Set([...queryableSeriesNames(readMetricCatalogue()), "up", ...records]);
    const unknown: string[] = [];
    for (const g of groups) {
      for (const r of g.rules) {
        const name = "alert" in r ? r.alert : r.record;
        const { errors, metrics } = parsePromql(r.expr);
        expect({ rule: name, errors }).toEqual({ rule: name, errors: [] });
        expect(metrics.length, `${g.name} › ${name} selects no metric`).toBeGreaterThan(0);
        for (const m of metrics) if (!known.has(m)) unknown.push(`${g.name} › ${name}: ${m}`);
      }
    }
    expect(unknown, "not in docs/metrics.md: a typo, or a metric to add there first").toEqual([]);
  });

  it("never aggregate by user or conversation ids", () => {
    for (const g of groups) for (const r of g.rules) expect(r.expr, g.name).not.toMatch(/user|conversation/i);
  });
});

describe("the burn-rate windows", () => {
  it("pair each long window with a short one a twelfth as long, spending 2–10 % of a 30-day budget", () => {
    const hours = (d: string) => Number(d.slice(0, -1)) * { m: 1 / 60, h: 1, d: 24 }[d.slice(-1) as "m" | "h" | "d"];
    for (const w of BURN_WINDOWS) {
      expect(hours(w.short) * 12, `${w.long}/${w.short}`).toBe(hours(w.long));
      const spent = (w.factor * hours(w.long)) / (30 * 24);
      expect(spent, `${w.long} at ${w.factor}×`).toBeGreaterThanOrEqual(0.02);
      expect(spent).toBeLessThanOrEqual(0.1);
    }
  });
});

describe("the promtool unit tests", () => {
  const cases = alertCases();

  it("all load the generated rule file", () => {
    for (const file of promtoolTestFiles()) expect(ruleFilesOf(file), file).toEqual(["../rules/parley.rules.yml"]);
  });

  it("show every alert firing and every alert staying quiet", () => {
    for (const name of AGREED_ALERTS) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(mine.some((c) => c.firing.length > 0), `${name}: no case where it fires`).toBe(true);
      expect(mine.some((c) => c.firing.length === 0), `${name}: no case where it must not fire`).toBe(true);
    }
  });

  it("make every rule fire at least once, with its severity and cause", () => {
    for (const rule of alerts) {
      const fired = cases.some(
        (c) =>
          c.alertname === rule.alert &&
          c.firing.some((labels) => labels.severity === rule.labels.severity && labels.cause === rule.labels.cause),
      );
      expect(fired, `${rule.alert} (${rule.labels.severity}${rule.labels.cause ? `, ${rule.labels.cause}` : ""}) never fires in test/*.yml`).toBe(true);
    }
  });
});
