import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { DEFAULT_SUBSTITUTION, substitute, type Substitution } from "../src/query-variables.js";
import { committedDashboards } from "./dashboards.js";

const run = promisify(execFile);

/**
 * The shipped queries evaluated by Prometheus's engine (`promtool test rules`) over synthetic
 * series, for what a syntax check cannot show: that a panel reads 0 rather than "No data" when
 * nothing fails, that replicas exporting the same queue or stream are not added up, that the runtime
 * panels keep to Parley's processes, and that "All" matches series without the label.
 * The proof of issue 4 evaluates them against a real cluster; this pins the semantics.
 */
const dashboards = committedDashboards();

function query(uid: string, panel: string, refId = "A"): string {
  const d = dashboards.find((x) => x.uid === uid);
  const target = d?.panels.find((p) => p.title === panel)?.targets?.find((t) => t.refId === refId);
  if (!target) throw new Error(`${uid} / ${panel} / ${refId}: no such query`);
  return target.expr;
}

interface Case {
  name: string;
  expr: string;
  values?: Partial<Substitution>;
  /** Expected samples: labels in PromQL form and the value. */
  expect: { labels: string; value: number }[];
}

// Two gateways, persisters and delivery pods of one release, Prometheus scraping itself, 15 s scrapes.
// Counters count per 15 s; `values` is promtool's expanding notation (start+step x count).
const series: { series: string; values: string }[] = [
  // Sends: all ok, 10 per scrape on each gateway, all within 100 ms.
  ...["gw-a", "gw-b"].flatMap((instance) => [
    { series: `parley_gateway_send_ack_seconds_bucket{service="gateway", job="gateway", instance="${instance}", outcome="ok", le="0.1"}`, values: "0+10x40" },
    { series: `parley_gateway_send_ack_seconds_bucket{service="gateway", job="gateway", instance="${instance}", outcome="ok", le="0.25"}`, values: "0+10x40" },
    { series: `parley_gateway_send_ack_seconds_bucket{service="gateway", job="gateway", instance="${instance}", outcome="ok", le="+Inf"}`, values: "0+10x40" },
    { series: `parley_gateway_send_ack_seconds_count{service="gateway", job="gateway", instance="${instance}", outcome="ok"}`, values: "0+10x40" },
    { series: `parley_ready{service="gateway", job="gateway", instance="${instance}"}`, values: "1x40" },
    { series: `parley_up{service="gateway", job="gateway", instance="${instance}", dependency="redis"}`, values: "1x40" },
    { series: `process_resident_memory_bytes{service="gateway", job="gateway", instance="${instance}"}`, values: "100000000x40" },
  ]),
  // The persister: ready, but Postgres out of reach.
  { series: `parley_ready{service="persister", job="persister", instance="p-a"}`, values: "0x40" },
  { series: `parley_up{service="persister", job="persister", instance="p-a", dependency="postgres"}`, values: "0x40" },
  { series: `process_resident_memory_bytes{service="persister", job="persister", instance="p-a"}`, values: "50000000x40" },
  // The persist stream as two persister replicas export it (the same stream counted twice), in two namespaces.
  ...["p-a", "p-b"].flatMap((instance) =>
    (
      [
        ["parley", 1],
        ["staging", 10],
      ] as const
    ).flatMap(([namespace, n]) => [
      { series: `parley_persist_stream_lag{service="persister", job="persister", instance="${instance}", namespace="${namespace}"}`, values: `${30 * n}x40` },
      { series: `parley_persist_stream_pending{service="persister", job="persister", instance="${instance}", namespace="${namespace}"}`, values: `${5 * n}x40` },
      { series: `parley_persist_stream_oldest_pending_seconds{service="persister", job="persister", instance="${instance}", namespace="${namespace}"}`, values: `${1.5 * n}x40` },
      // Counters exported at 0 from the start: no dead letter yet.
      { series: `parley_persist_dead_letters_total{service="persister", job="persister", instance="${instance}", namespace="${namespace}", reason="refused"}`, values: "0x40" },
    ]),
  ),
  // A delivery queue as two delivery replicas export it (the same queue counted twice), in two namespaces.
  ...["d-a", "d-b"].flatMap((instance) =>
    (
      [
        ["waiting", 3],
        ["active", 2],
        ["delayed", 1],
        ["completed", 500],
        ["failed", 4],
      ] as const
    ).flatMap(([state, n]) => [
      { series: `bullmq_job_count{service="delivery", job="delivery", instance="${instance}", namespace="parley", queue="receipts", state="${state}"}`, values: `${n}x40` },
      { series: `bullmq_job_count{service="delivery", job="delivery", instance="${instance}", namespace="staging", queue="receipts", state="${state}"}`, values: `${n * 10}x40` },
    ]),
  ),
  // Prometheus scraping itself: a process, but not Parley's.
  { series: `process_resident_memory_bytes{job="prometheus", instance="localhost:9090"}`, values: "300000000x40" },
];

const cases: Case[] = [
  {
    name: "the error ratio is 0, not empty, when every send succeeds",
    expr: query("parley-overview", "Send error ratio", "A"),
    expect: [{ labels: "{}", value: 0 }],
  },
  {
    name: "the server-error ratio (the error objective's) is 0 as well",
    expr: query("parley-overview", "Send error ratio", "B"),
    expect: [{ labels: "{}", value: 0 }],
  },
  {
    name: "the error share over the range is 0 as well",
    expr: query("parley-overview", "Send errors"),
    expect: [{ labels: "{}", value: 0 }],
  },
  {
    name: "every send within 100 ms is within the objective",
    expr: query("parley-overview", "Sends within objective"),
    expect: [{ labels: "{}", value: 1 }],
  },
  {
    name: "p99 send→ack latency is under the objective",
    expr: `${query("parley-overview", "Send→ack latency", "B")} < bool 0.25`,
    expect: [{ labels: "{}", value: 1 }],
  },
  {
    name: "queue depth counts the persist stream once however many persisters export it (All namespaces: 30 + 5 + 300 + 50)",
    expr: query("parley-overview", "Queue depth", "A"),
    expect: [{ labels: "{}", value: 385 }],
  },
  {
    name: "queue depth counts a delivery queue once however many replicas export it (All namespaces: 6 + 60)",
    expr: query("parley-overview", "Queue depth", "B"),
    expect: [{ labels: `{queue="receipts"}`, value: 66 }],
  },
  {
    name: "one namespace selected: only its stream",
    expr: query("parley-overview", "Queue depth", "A"),
    values: { namespace: "parley" },
    expect: [{ labels: "{}", value: 35 }],
  },
  {
    name: "one namespace selected: only its queue",
    expr: query("parley-overview", "Queue depth", "B"),
    values: { namespace: "parley" },
    expect: [{ labels: `{queue="receipts"}`, value: 6 }],
  },
  {
    name: "work given up reads 0, not empty, while no entry was dead-lettered",
    expr: query("parley-overview", "Failed jobs", "A"),
    expect: [{ labels: "{}", value: 0 }],
  },
  {
    name: "the persist stream's backlog, each replica's copy counted once, whatever pod is selected",
    expr: query("parley-persister", "Persist stream backlog", "A"),
    values: { namespace: "parley", pod: "nothing-matches" },
    expect: [{ labels: "{}", value: 30 }],
  },
  {
    name: "the persist stream's pending entries, each replica's copy counted once",
    expr: query("parley-persister", "Persist stream backlog", "B"),
    values: { namespace: "parley" },
    expect: [{ labels: "{}", value: 5 }],
  },
  {
    name: "the oldest pending entry's age, each replica's copy counted once",
    expr: query("parley-persister", "Oldest pending entry"),
    values: { namespace: "parley" },
    expect: [{ labels: "{}", value: 1.5 }],
  },
  {
    name: "the delivery queue by state, each replica's copy counted once",
    expr: query("parley-delivery", "Delivery queue depth"),
    values: { namespace: "parley" },
    expect: [{ labels: `{queue="receipts"}`, value: 6 }],
  },
  {
    name: "pods not ready",
    expr: query("parley-overview", "Pods not ready"),
    expect: [{ labels: "{}", value: 1 }],
  },
  {
    name: "dependencies down",
    expr: query("parley-overview", "Dependencies down"),
    expect: [{ labels: "{}", value: 1 }],
  },
  {
    name: "dependency status: the worst pod per dependency",
    expr: query("parley-overview", "Dependency status"),
    expect: [
      { labels: `{dependency="postgres"}`, value: 0 },
      { labels: `{dependency="redis"}`, value: 1 },
    ],
  },
  {
    name: "ready pods per service (All: series without a namespace label match)",
    expr: query("parley-overview", "Pods ready", "A"),
    expect: [
      { labels: `{service="gateway"}`, value: 2 },
      { labels: `{service="persister"}`, value: 0 },
    ],
  },
  {
    name: "runtime panels show Parley's processes and not Prometheus's",
    expr: query("parley-runtime", "Resident memory"),
    expect: [
      { labels: `{service="gateway", instance="gw-a"}`, value: 100_000_000 },
      { labels: `{service="gateway", instance="gw-b"}`, value: 100_000_000 },
      { labels: `{service="persister", instance="p-a"}`, value: 50_000_000 },
    ],
  },
  {
    name: "a selected pod filters out the others",
    expr: query("parley-runtime", "Resident memory"),
    values: { pod: "nothing-matches" },
    expect: [],
  },
];

describe("dashboard queries, evaluated by Prometheus's engine on synthetic series", () => {
  const dir = mkdtempSync(join(tmpdir(), "parley-grafana-eval-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("give the values an SRE expects", async () => {
    const file = join(dir, "dashboards.test.yaml");
    const test = {
      rule_files: [],
      evaluation_interval: "15s",
      tests: [
        {
          interval: "15s",
          input_series: series,
          promql_expr_test: cases.map((c) => ({
            expr: substitute(c.expr, { ...DEFAULT_SUBSTITUTION, ...c.values }),
            eval_time: "8m",
            exp_samples: c.expect.map((e) => ({ labels: e.labels, value: e.value })),
          })),
        },
      ],
    };
    writeFileSync(file, stringify(test, { lineWidth: 0 }));
    try {
      await run("promtool", ["test", "rules", file]);
    } catch (error) {
      const e = error as { code?: string; stdout?: string; stderr?: string };
      if (e.code === "ENOENT") {
        throw new Error("promtool is missing: install Debian's prometheus package (`apt-get install prometheus`; `npm test` does this as root) and run the tests again.");
      }
      const output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
      // promtool names the failing expression; add the case's name.
      const named = cases.filter((c) => output.includes(JSON.stringify(substitute(c.expr, { ...DEFAULT_SUBSTITUTION, ...c.values })))).map((c) => `✗ ${c.name}`);
      expect.fail(`${named.join("\n")}\n${output}`);
    }
  });
});
