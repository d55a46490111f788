import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCorePanels, loadDashboards, queriesOfPanel, type Dashboard } from "./dashboards.js";
import { startLightLoad } from "./light-load.js";
import { startLocalCluster, type LocalCluster } from "./local-cluster.js";
import { prometheusBinary, promtoolCheckConfig, startPrometheus, type PrometheusApi, type RunningPrometheus } from "./prometheus.js";
import { kubernetesTargets } from "./kubernetes-scrape.js";
import { FIXTURE, REPO, ruleFilesForTest } from "./repo-files.js";
import { loadRuleFiles, type LoadedRuleFiles } from "./rule-files.js";

/*
 * A real Prometheus scraping a real local cluster (two gateways, a persister, a delivery
 * service, each its own process) under light load; then every dashboard panel query and
 * every rule through Prometheus' HTTP API: the repository's dashboards and rule files (a
 * missing one fails the run), and a small fixture dashboard and rule file with known answers,
 * which prove that the checks themselves work.
 */

const LOAD_SECONDS = 20;
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const note = (text: string) => process.stdout.write(`[observability] ${text}\n`);

const repoRules = loadRuleFiles(REPO.rules);
const fixtureRules = loadRuleFiles(FIXTURE.rules);
const repoDashboards = loadDashboards(REPO.dashboards);
const fixtureDashboards = loadDashboards(FIXTURE.dashboards);

let cluster: LocalCluster;
let prometheus: RunningPrometheus;
let load: Awaited<ReturnType<typeof startLightLoad>>;

beforeAll(async () => {
  prometheusBinary(); // fails first, and says what to install, when there is no Prometheus
  cluster = await startLocalCluster();
  prometheus = await startPrometheus({
    targets: kubernetesTargets(cluster.services),
    ruleFiles: ruleFilesForTest([...repoRules.files, ...fixtureRules.files]),
    intervalSeconds: 1,
  });
  load = await startLightLoad(cluster);
  await delay(LOAD_SECONDS * 1_000);
  note(`light load for ${LOAD_SECONDS} s: ${JSON.stringify(load.stats)}`);
}, 120_000);

afterAll(async () => {
  load?.stop();
  await prometheus?.close();
  await cluster?.close();
});

/** Evaluates every query; answers the failures (parse or evaluation errors) and which returned nothing. */
async function evaluate(api: PrometheusApi, dashboards: Dashboard[]) {
  const errors: string[] = [];
  const empty = new Set<string>();
  for (const q of dashboards.flatMap((d) => d.queries)) {
    const where = `${q.dashboard.title} › ${q.panelTitle} › ${q.refId}`;
    if (q.substitutionError) {
      errors.push(`${where}: ${q.substitutionError}`);
      continue;
    }
    const result = await api.query(q.expr);
    if (!result.ok) errors.push(`${where}: ${result.errorType}: ${result.error}\n    ${q.expr}`);
    else if (result.size === 0) empty.add(q.expr);
  }
  return { errors, empty, count: dashboards.reduce((n, d) => n + d.queries.length, 0) };
}

function checkCorePanels(dashboards: Dashboard[], corePanelsFile: string, empty: Set<string>): string[] {
  const core = loadCorePanels(corePanelsFile);
  const problems: string[] = [];
  for (const panel of core) {
    const queries = queriesOfPanel(dashboards, panel);
    if (queries.length === 0) problems.push(`core panel ${panel.dashboard} › ${panel.panel}: no such panel with a Prometheus query`);
    for (const q of queries) if (empty.has(q.expr)) problems.push(`core panel ${panel.dashboard} › ${q.panelTitle} › ${q.refId} returned no data:\n    ${q.expr}`);
  }
  return problems;
}

async function checkRules(api: PrometheusApi, loaded: LoadedRuleFiles): Promise<string[]> {
  const wanted = new Set(loaded.groups.map((g) => g.name));
  // Every rule has been evaluated at least once (health leaves "unknown") within a few 1 s cycles.
  const deadline = Date.now() + 20_000;
  let groups = await api.rules();
  while (Date.now() < deadline && groups.some((g) => wanted.has(g.name) && g.rules.some((r) => r.health === "unknown"))) {
    await delay(500);
    groups = await api.rules();
  }
  const problems: string[] = [];
  for (const group of loaded.groups) {
    const served = groups.find((g) => g.name === group.name);
    if (!served) {
      problems.push(`group ${group.name} (${group.file}) is not loaded`);
      continue;
    }
    const defined = loaded.rules.filter((r) => r.group === group.name);
    if (served.rules.length !== defined.length) problems.push(`group ${group.name}: ${served.rules.length} rules loaded, ${defined.length} defined`);
    for (const rule of served.rules) {
      if (rule.health !== "ok") problems.push(`${group.name} › ${rule.name}: health ${rule.health}${rule.lastError ? `: ${rule.lastError}` : ""}`);
    }
  }
  for (const rule of loaded.rules) {
    const result = await api.query(rule.expr);
    if (!result.ok) problems.push(`${rule.group} › ${rule.name} (${rule.kind}): ${result.errorType}: ${result.error}\n    ${rule.expr}`);
  }
  return problems;
}

describe("a real Prometheus scraping the local cluster", () => {
  it("accepts the generated configuration (promtool check config, with the rule files)", async () => {
    const checked = await promtoolCheckConfig(prometheus.configFile);
    expect(checked.ok, checked.output).toBe(true);
  });

  it("scrapes every service: every target up, labelled as the monitors in infra/k8s label them", async () => {
    const targets = await prometheus.api.targets();
    expect(targets.map((t) => `${t.labels.pod}:${t.health}${t.lastError ? ` (${t.lastError})` : ""}`).sort()).toEqual(
      ["delivery-0:up", "gateway-0:up", "gateway-1:up", "persister-0:up"],
    );
    const up = await prometheus.api.query('up{namespace="parley"} == 1');
    expect(up.ok && up.size).toBe(4);
    // No label of the services pushed aside by a target label (`exported_service` would break every `service=` selector).
    const clashed = await prometheus.api.query('count by (__name__) ({namespace="parley", __name__=~".+", exported_service=~".+"})');
    expect(clashed.ok && clashed.samples.map((s) => s.metric.__name__)).toEqual([]);
    const services = await prometheus.api.query('count by (service, pod) (process_start_time_seconds{namespace="parley"})');
    expect(services.ok && services.samples.map((s) => `${s.metric.pod}:${s.metric.service}`).sort()).toEqual(
      ["delivery-0:delivery", "gateway-0:gateway", "gateway-1:gateway", "persister-0:persister"],
    );
  });

  it("has the core series of the metric catalogue from every service that exports them", async () => {
    const everyPod = ["delivery-0", "gateway-0", "gateway-1", "persister-0"];
    const expectations: [expr: string, pods: string[]][] = [
      ["process_resident_memory_bytes", everyPod],
      ["nodejs_eventloop_lag_p99_seconds", everyPod],
      // Dependency health on every service, all answering; BullMQ's queue families from the delivery
      // workers only; the persist stream's gauges (read from Redis) from the persister, which no
      // longer exports a BullMQ queue.
      ['parley_up{dependency="redis"} == 1', everyPod],
      ['parley_up{dependency="postgres"} == 1', everyPod],
      ["parley_ready == 1", everyPod],
      ['parley_persist_stream_lag{service="persister"}', ["persister-0"]],
      ['parley_persist_stream_pending{service="persister"}', ["persister-0"]],
      ['parley_persist_stream_oldest_pending_seconds{service="persister"}', ["persister-0"]],
      ['bullmq_job_count{queue="persist"}', []],
      ['bullmq_job_completed_total{queue="receipts"}', ["delivery-0"]],
      ['parley_gateway_connected_sockets{service="gateway"}', ["gateway-0", "gateway-1"]],
      ['parley_gateway_send_ack_seconds_bucket{service="gateway", le="+Inf"}', ["gateway-0", "gateway-1"]],
      ['parley_gateway_events_total{service="gateway", event="message:send", outcome="ok"}', ["gateway-0", "gateway-1"]],
      ['parley_gateway_handshakes_total{service="gateway", outcome="accepted"}', ["gateway-0", "gateway-1"]],
      ['parley_persist_lag_seconds_bucket{service="persister", le="+Inf"}', ["persister-0"]],
      ['parley_persist_batch_size_bucket{service="persister", le="+Inf"}', ["persister-0"]],
      ['parley_persist_messages_total{service="persister", outcome="stored"}', ["persister-0"]],
      ['parley_persist_fanout_seconds_bucket{service="persister", le="+Inf"}', ["persister-0"]],
      ['parley_delivery_receipts_applied_total{service="delivery"}', ["delivery-0"]],
      ['parley_presence_events_total{service="delivery"}', ["delivery-0"]],
    ];
    const missing: string[] = [];
    for (const [expr, pods] of expectations) {
      const result = await prometheus.api.query(`count by (pod) (${expr})`);
      const seen = result.ok ? result.samples.map((s) => s.metric.pod ?? "?").sort() : [`error: ${!result.ok && result.error}`];
      if (JSON.stringify(seen) !== JSON.stringify(pods)) missing.push(`${expr}: pods ${seen.join(",") || "none"}, expected ${pods.join(",")}`);
    }
    expect(missing).toEqual([]);

    // The numbers are the cluster's own: the load's sockets, and what it sent.
    const sockets = await prometheus.api.query('sum(parley_gateway_connected_sockets{namespace="parley"})');
    expect(sockets.ok && Number(sockets.samples[0]?.value?.[1])).toBe(load.userIds.length);
    const stored = await prometheus.api.query('sum(parley_persist_messages_total{outcome="stored"})');
    expect(stored.ok && Number(stored.samples[0]?.value?.[1])).toBeGreaterThan(0);

    // Syncs come from one member at a time, on whichever gateway it is connected to.
    const synced = await prometheus.api.query('sum(parley_gateway_sync_messages_count{request="sync"}) > 0 and sum(parley_gateway_sync_total{outcome="ok"}) > 0');
    expect(synced.ok && synced.size, "sync requests counted").toBe(1);
  });

  it("loads the fixture rule file: every group loaded, every rule healthy, every expression evaluates", async () => {
    expect(fixtureRules.rules.length).toBeGreaterThan(0);
    expect(await checkRules(prometheus.api, fixtureRules)).toEqual([]);
  });

  it("loads infra/prometheus/rules: every group loaded, every rule healthy, every expression evaluates", async () => {
    note(`rule files: ${repoRules.files.join(", ")} (${repoRules.groups.length} groups, ${repoRules.rules.length} rules)`);
    expect(repoRules.rules.length).toBeGreaterThan(0);
    expect(await checkRules(prometheus.api, repoRules)).toEqual([]);
  });

  it("evaluates every panel query of the fixture dashboard; its core panels return data", async () => {
    const { errors, empty, count } = await evaluate(prometheus.api, fixtureDashboards);
    expect(count).toBeGreaterThanOrEqual(9);
    expect(errors).toEqual([]);
    expect(checkCorePanels(fixtureDashboards, FIXTURE.corePanels, empty)).toEqual([]);
  });

  it("evaluates every panel query of infra/grafana/dashboards; the core panels return data", async () => {
    const { errors, empty, count } = await evaluate(prometheus.api, repoDashboards);
    note(`${repoDashboards.length} dashboards, ${count} queries, ${empty.size} with no data now (allowed outside the core panels)`);
    expect(count).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    expect(checkCorePanels(repoDashboards, REPO.corePanels, empty)).toEqual([]);
  });

  it("the checks bite: a query that does not parse is reported, a metric that does not exist returns no data", async () => {
    const broken = await prometheus.api.query("sum(rate(parley_gateway_send_ack_seconds_count[15s])");
    expect(broken.ok).toBe(false);
    const missing = await prometheus.api.query("parley_no_such_metric_total");
    expect(missing.ok && missing.size).toBe(0);
  });

  it("the light load ran without failures", () => {
    expect(load.stats.failures).toEqual({});
    expect(load.stats.acked).toBeGreaterThan(0);
  });
});
