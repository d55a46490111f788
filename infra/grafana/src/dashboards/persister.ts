import { type BuiltDashboard, ParleyDashboard } from "../compose.js";
import { heatmap, stat, timeseries } from "../panels.js";
import { POD_LABELS, POD_LEGEND, queueWide } from "../promql.js";

/** The persister pods: what they store, how they batch, how far behind they are, their queue. */
export function persisterDashboard(): BuiltDashboard {
  const d = new ParleyDashboard({
    uid: "parley-persister",
    title: "Parley / Persister",
    description: "Persister pods: messages by outcome (dedupe hits), batch size, commit duration, enqueue→commit lag, fan-out latency, failed jobs, hand-offs, the persist queue.",
    tags: ["persister"],
    podsFrom: "parley_persist_batch_size_count",
  });
  const { q } = d;
  const messages = "parley_persist_messages_total";

  d.row("Messages")
    .panel(
      timeseries({
        title: "Messages by outcome",
        description: "Messages answered per second: stored (new rows), duplicate (dedupe hits: a retry of a stored message, answered with the stored one), conflict (same clientMessageId, other body: refused), refused (any other error, e.g. a reply to a message of another conversation: not stored).",
        queries: [{ expr: q.sumRate(["outcome"], messages), legend: "{{outcome}}" }],
        unit: "suffix: msg/s",
        min: 0,
        width: 16,
      }),
      { core: true },
    )
    .panel(
      stat({
        title: "Dedupe hits",
        description: "Share of messages that were retries of stored ones (outcome duplicate) over the dashboard's time range. High after reconnect waves, when clients resend what got no ack.",
        queries: [
          {
            expr: `(sum(rate(${q.sel(messages, `outcome="duplicate"`)}[$__range])) or vector(0)) / sum(rate(${q.sel(messages)}[$__range]))`,
            legend: "duplicates",
          },
        ],
        unit: "percentunit",
        width: 8,
      }),
    );

  d.row("Batches and latency")
    .panel(
      timeseries({
        title: "Batch size",
        description: "Messages committed per Postgres transaction: p50, p99 and the mean. Batches grow with load, which is how the persister keeps up.",
        queries: [
          { expr: q.quantile(0.5, "parley_persist_batch_size"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_persist_batch_size"), legend: "p99" },
          { expr: q.mean("parley_persist_batch_size"), legend: "mean" },
        ],
        unit: "short",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Commit duration",
        description: "Time to commit one batch in Postgres: p50 and p99, and p99 per pod.",
        queries: [
          { expr: q.quantile(0.5, "parley_persist_commit_duration_seconds"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_persist_commit_duration_seconds"), legend: "p99" },
          { expr: q.quantile(0.99, "parley_persist_commit_duration_seconds", POD_LABELS), legend: `p99 ${POD_LEGEND}` },
        ],
        unit: "s",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Enqueue→commit lag",
        description: "From the gateway enqueuing a message to its commit: p50 and p99. Rising lag with a growing persist queue means too few persisters or a slow Postgres.",
        queries: [
          { expr: q.quantile(0.5, "parley_persist_lag_seconds"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_persist_lag_seconds"), legend: "p99" },
        ],
        unit: "s",
        min: 0,
        runbooks: ["ParleyPersisterLag"],
      }),
      { core: true },
    )
    .panel(
      heatmap({
        title: "Lag distribution",
        description: "Messages per enqueue→commit lag bucket over time.",
        queries: [{ expr: q.heatmap("parley_persist_lag_seconds") }],
        unit: "s",
      }),
    )
    .panel(
      timeseries({
        title: "Fan-out latency",
        description: "From the commit to the live fan-out published to the gateways: p50 and p99.",
        queries: [
          { expr: q.quantile(0.5, "parley_persist_fanout_seconds"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_persist_fanout_seconds"), legend: "p99" },
        ],
        unit: "s",
        min: 0,
        width: 24,
      }),
    );

  d.row("Queue, failures and hand-offs")
    .panel(
      timeseries({
        title: "Persist queue depth",
        description: "Jobs of the persist queue by state (every persister exports the same queue: the max is the queue's count). Waiting jobs are what KEDA scales the persisters on.",
        queries: [{ expr: queueWide(["state"], q.clusterSel("bullmq_job_count", `queue="persist"`)), legend: "{{state}}" }],
        unit: "short",
        min: 0,
        runbooks: ["ParleyQueueGrowing"],
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Persist queue throughput",
        description: "Jobs of the persist queue completed and failed per second.",
        queries: [
          { expr: queueWide([], `rate(${q.clusterSel("bullmq_job_completed_total", `queue="persist"`)}[$__rate_interval])`), legend: "completed" },
          { expr: queueWide([], `rate(${q.clusterSel("bullmq_job_failed_total", `queue="persist"`)}[$__rate_interval])`), legend: "failed" },
        ],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Failed jobs by reason",
        description: "Persist jobs that failed per second: transient (Postgres or Redis trouble, retried) or poison (given up: the message can never be stored).",
        queries: [{ expr: q.sumRate(["reason"], "parley_persist_jobs_failed_total"), legend: "{{reason}}" }],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyJobsFailing"],
      }),
    )
    .panel(
      timeseries({
        title: "Hand-offs to delivery",
        description: "Hand-offs of committed messages to the delivery service for notifications (one notify job per 250 ms window of commits), per second by outcome (ok, failed).",
        queries: [{ expr: q.sumRate(["outcome"], "parley_persist_handoffs_total"), legend: "{{outcome}}" }],
        unit: "ops",
        min: 0,
      }),
    );

  return d.build();
}
