import { type BuiltDashboard, type DashboardOptions, ParleyDashboard } from "../compose.js";
import { stat, timeseries } from "../panels.js";
import { queueWide, streamWide } from "../promql.js";
import { PARLEY_JOBS, SEND_ACK_OBJECTIVE_SECONDS, SEND_ERROR_BUDGET, SERVER_ERRORS, activeQueueStates } from "./shared.js";

/** What an SRE looks at first: the send path against its objective, traffic, queues, pods. */
export function overviewDashboard(options: DashboardOptions = {}): BuiltDashboard {
  const d = new ParleyDashboard({
    uid: "parley-overview",
    title: "Parley / Overview",
    description: "Service level of the message path (send→ack latency and errors), traffic, persister lag, queues, pods and dependencies.",
    tags: ["overview"],
  }, options);
  const { q } = d;
  const sends = "parley_gateway_send_ack_seconds_count";

  d.row("At a glance")
    .panel(
      stat({
        title: "Connected sockets",
        description: "Sockets connected to all gateways.",
        queries: [{ expr: `sum(${q.sel("parley_gateway_connected_sockets")})`, legend: "sockets" }],
        unit: "short",
        width: 4,
        height: 5,
      }),
      { core: true },
    )
    .panel(
      stat({
        title: "Messages stored per second",
        description: "Messages newly committed to Postgres per second (not counting duplicates).",
        queries: [{ expr: `sum(${q.rate("parley_persist_messages_total", `outcome="stored"`)})`, legend: "stored" }],
        unit: "suffix: msg/s",
        width: 4,
        height: 5,
      }),
    )
    .panel(
      stat({
        title: "Sends within objective",
        description: `Share of successful sends answered within ${SEND_ACK_OBJECTIVE_SECONDS * 1000} ms over the dashboard's time range. The objective: p99 ≤ ${SEND_ACK_OBJECTIVE_SECONDS * 1000} ms, i.e. at least 99 %.`,
        queries: [
          {
            expr: `sum(rate(${q.sel("parley_gateway_send_ack_seconds_bucket", `outcome="ok"`, `le="${SEND_ACK_OBJECTIVE_SECONDS}"`)}[$__range])) / sum(rate(${q.sel(sends, `outcome="ok"`)}[$__range]))`,
            legend: "≤ 250 ms",
          },
        ],
        unit: "percentunit",
        steps: [
          { value: null, color: "red" },
          { value: 0.99, color: "green" },
        ],
        runbooks: ["ParleySendLatencyBurnRate"],
        width: 4,
        height: 5,
      }),
    )
    .panel(
      stat({
        title: "Send errors",
        description: `Share of sends answered with a server error (UNAVAILABLE, INTERNAL) over the dashboard's time range: what the error objective counts (at most ${SEND_ERROR_BUDGET * 100} %). Refusals the contract prescribes (RATE_LIMITED, VALIDATION, …) are not errors here; the Send error ratio panel shows them.`,
        queries: [
          {
            expr: `(sum(rate(${q.sel(sends, SERVER_ERRORS)}[$__range])) or vector(0)) / sum(rate(${q.sel(sends)}[$__range]))`,
            legend: "server errors",
          },
        ],
        unit: "percentunit",
        steps: [
          { value: null, color: "green" },
          { value: SEND_ERROR_BUDGET, color: "red" },
        ],
        runbooks: ["ParleySendErrorBurnRate"],
        width: 4,
        height: 5,
      }),
    )
    .panel(
      stat({
        title: "Pods not ready",
        description: "Parley pods whose /readyz fails (draining, or Redis or Postgres out of reach).",
        queries: [{ expr: `count(${q.sel("parley_ready")} == 0) or vector(0)`, legend: "not ready" }],
        unit: "short",
        steps: [
          { value: null, color: "green" },
          { value: 1, color: "red" },
        ],
        runbooks: ["ParleyPodsNotReady"],
        width: 4,
        height: 5,
      }),
    )
    .panel(
      stat({
        title: "Dependencies down",
        description: "Checks of Redis or Postgres that did not answer, counted over every pod (parley_up == 0).",
        queries: [{ expr: `count(${q.sel("parley_up")} == 0) or vector(0)`, legend: "down" }],
        unit: "short",
        steps: [
          { value: null, color: "green" },
          { value: 1, color: "red" },
        ],
        runbooks: ["ParleyDependencyDown"],
        width: 4,
        height: 5,
      }),
    );

  d.row("Send path")
    .panel(
      timeseries({
        title: "Send→ack latency",
        description: `From a message:send arriving at a gateway to its ack (after the commit), successful sends. The dashed line is the objective: p99 ≤ ${SEND_ACK_OBJECTIVE_SECONDS * 1000} ms.`,
        queries: [
          { expr: q.quantile(0.5, "parley_gateway_send_ack_seconds", [], `outcome="ok"`), legend: "p50" },
          { expr: q.quantile(0.99, "parley_gateway_send_ack_seconds", [], `outcome="ok"`), legend: "p99" },
        ],
        unit: "s",
        min: 0,
        thresholdLine: SEND_ACK_OBJECTIVE_SECONDS,
        runbooks: ["ParleySendLatencyBurnRate"],
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Send error ratio",
        description: `Sends answered with an error over all sends: every outcome but ok, the server errors the error objective counts (UNAVAILABLE, INTERNAL; the dashed line is its budget, ${SEND_ERROR_BUDGET * 100} %), and each error code.`,
        queries: [
          { expr: `(sum(${q.rate(sends, `outcome!="ok"`)}) or vector(0)) / sum(${q.rate(sends)})`, legend: "all errors (outcome ≠ ok)" },
          { expr: `(sum(${q.rate(sends, SERVER_ERRORS)}) or vector(0)) / sum(${q.rate(sends)})`, legend: "server errors" },
          { expr: `sum by (outcome) (${q.rate(sends, `outcome!="ok"`)}) / scalar(sum(${q.rate(sends)}))`, legend: "{{outcome}}" },
        ],
        thresholdLine: SEND_ERROR_BUDGET,
        unit: "percentunit",
        min: 0,
        runbooks: ["ParleySendErrorBurnRate"],
      }),
    )
    .panel(
      timeseries({
        title: "Messages per second",
        description: "Sends answered by the gateways, and messages newly stored by the persisters (duplicates are answered, not stored again).",
        queries: [
          { expr: `sum(${q.rate(sends)})`, legend: "sends answered" },
          { expr: `sum(${q.rate("parley_persist_messages_total", `outcome="stored"`)})`, legend: "stored" },
        ],
        unit: "suffix: msg/s",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Persister lag",
        description: "From the gateway enqueuing a message to its commit in Postgres. Most of send→ack latency; it grows when the persisters fall behind.",
        queries: [
          { expr: q.quantile(0.5, "parley_persist_lag_seconds"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_persist_lag_seconds"), legend: "p99" },
        ],
        unit: "s",
        min: 0,
        runbooks: ["ParleyPersisterLag"],
      }),
      { core: true },
    );

  d.row("Queues and pods")
    .panel(
      timeseries({
        title: "Queue depth",
        description:
          "Work not done yet. persist: entries of the persist stream (one per gateway window of sends) not yet read or not yet committed by the persisters. receipts, notify, push: BullMQ jobs waiting, active or delayed (delivery work). Every replica exports the same numbers: the max is the queue's. Steady growth means the workers do not keep up.",
        queries: [
          {
            expr: `${streamWide(q.clusterSel("parley_persist_stream_lag"))} + ${streamWide(q.clusterSel("parley_persist_stream_pending"))}`,
            legend: "persist",
          },
          {
            expr: queueWide(["queue"], q.clusterSel("bullmq_job_count", activeQueueStates)),
            legend: "{{queue}}",
          },
        ],
        unit: "short",
        min: 0,
        runbooks: ["ParleyQueueGrowing"],
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Failed jobs",
        description:
          "Work given up per second. persist: entries or messages moved to the dead-letter stream (not stored). receipts, notify, push: BullMQ jobs failed (every replica exports the same queue: the max is the queue's rate).",
        queries: [
          { expr: `sum(${q.rate("parley_persist_dead_letters_total")})`, legend: "persist (dead letters)" },
          { expr: queueWide(["queue"], `rate(${q.clusterSel("bullmq_job_failed_total")}[$__rate_interval])`), legend: "{{queue}}" },
        ],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyJobsFailing"],
      }),
    )
    .panel(
      timeseries({
        title: "Pods ready",
        description: "Ready pods per service (parley_ready), pods reporting, and scrape targets up per job (up). Ready below reporting: pods draining or cut off from Redis or Postgres.",
        queries: [
          { expr: `sum by (service) (${q.sel("parley_ready")})`, legend: "{{service}} ready" },
          { expr: `count by (service) (${q.sel("parley_ready")})`, legend: "{{service}} reporting" },
          { expr: `sum by (job) (${q.sel("up", PARLEY_JOBS)})`, legend: "{{job}} targets up" },
        ],
        unit: "short",
        min: 0,
        runbooks: ["ParleyPodsNotReady", "ParleyMetricsAbsent"],
      }),
      { core: true },
    )
    .panel(
      stat({
        title: "Dependency status",
        description: "Whether every pod's last check of Redis and Postgres answered (the worst pod shown).",
        queries: [{ expr: `min by (dependency) (${q.sel("parley_up")})`, legend: "{{dependency}}" }],
        valueText: { "0": { text: "down", color: "red" }, "1": { text: "up", color: "green" } },
        steps: [
          { value: null, color: "red" },
          { value: 1, color: "green" },
        ],
        runbooks: ["ParleyDependencyDown"],
      }),
    );

  d.row("Alert signals")
    .panel(
      timeseries({
        title: "Handshake failures",
        description: "Socket handshakes refused per second, by outcome (AUTH_*: token problems; origin: a browser origin outside CORS_ORIGINS; UNAVAILABLE: Redis or Postgres; INTERNAL: a bug; draining: a gateway shutting down, expected during rollouts).",
        queries: [{ expr: `sum by (outcome) (${q.rate("parley_gateway_handshakes_total", `outcome!="accepted"`)})`, legend: "{{outcome}}" }],
        unit: "reqps",
        min: 0,
        runbooks: ["ParleyHandshakeFailures"],
      }),
    )
    .panel(
      timeseries({
        title: "Gateway heartbeat loss",
        description: "Gateway pods declared dead by the presence sweep (their heartbeat expired), and gateway heartbeats that failed. Users of a swept pod go offline.",
        queries: [
          { expr: `sum(increase(${q.sel("parley_presence_swept_pods_total")}[$__rate_interval]))`, legend: "pods swept" },
          { expr: `sum by (outcome) (${q.rate("parley_presence_heartbeats_total", `outcome!="ok"`)})`, legend: "heartbeats {{outcome}}/s" },
        ],
        unit: "short",
        min: 0,
        runbooks: ["ParleyHeartbeatLoss"],
      }),
    )
    .panel(
      timeseries({
        title: "Redis memory",
        description:
          "Redis's used memory as a share of its maxmemory, as the services read it (INFO memory with each dependency check; max over pods). With noeviction, at 100 % every write fails. Empty when Redis has no maxmemory.",
        queries: [
          {
            expr: `max(${q.sel("parley_redis_memory_used_bytes")}) / max(${q.sel("parley_redis_memory_max_bytes")} > 0)`,
            legend: "used / maxmemory",
          },
        ],
        unit: "percentunit",
        min: 0,
        max: 1,
        runbooks: ["ParleyRedisMemoryHigh"],
      }),
    );

  return d.build();
}
