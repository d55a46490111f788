import { type BuiltDashboard, type DashboardOptions, ParleyDashboard } from "../compose.js";
import { heatmap, stat, timeseries } from "../panels.js";
import { POD_LABELS, POD_LEGEND, streamWide } from "../promql.js";

/** The persister pods: what they store, how they batch, how far behind they are, the persist stream they read. */
export function persisterDashboard(options: DashboardOptions = {}): BuiltDashboard {
  const d = new ParleyDashboard({
    uid: "parley-persister",
    title: "Parley / Persister",
    description: "Persister pods: messages by outcome (dedupe hits), batch size, commit duration, enqueue→commit lag, fan-out latency, the persist stream (backlog, pending entries, oldest pending entry), failed entries, dead letters, reclaims, hand-offs.",
    tags: ["persister"],
    podsFrom: "parley_persist_batch_size_count",
  }, options);
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
        description: "From the gateway adding a message's persist stream entry to its commit: p50 and p99. Rising lag with a growing stream backlog means too few persisters or a slow Postgres.",
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

  d.row("Persist stream, failures and hand-offs")
    .panel(
      timeseries({
        title: "Persist stream backlog",
        description:
          "Entries of the persist stream (one per gateway window of sends) not yet read by any persister (backlog: what KEDA scales the persisters on), and read but not yet committed (pending). Every persister exports the same values, read from Redis: the max is the stream's. Missing while Redis is out of reach.",
        queries: [
          { expr: streamWide(q.clusterSel("parley_persist_stream_lag")), legend: "backlog (unread)" },
          { expr: streamWide(q.clusterSel("parley_persist_stream_pending")), legend: "pending (read, not committed)" },
        ],
        unit: "short",
        min: 0,
        runbooks: ["ParleyQueueGrowing"],
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Backlog by partition",
        description:
          "Each persist partition's backlog (PERSIST_PARTITIONS streams; a conversation's sends always go to one): entries not yet read plus read and not committed. One partition far above the others is a slow Redis shard or a hot conversation; all of them together is the persisters not keeping up.",
        queries: [
          {
            expr: `max by (partition) (${q.clusterSel("parley_persist_stream_lag")}) + max by (partition) (${q.clusterSel("parley_persist_stream_pending")})`,
            legend: "partition {{partition}}",
          },
        ],
        unit: "short",
        min: 0,
        runbooks: ["ParleyQueueGrowing"],
      }),
    )
    .panel(
      timeseries({
        title: "Oldest pending entry",
        description:
          "Age (since it was added) of the oldest entry read by a persister and not committed, per persist partition; 0 when none. A crashed persister's entries wait PERSIST_CLAIM_IDLE_MS before another persister claims them; far beyond that, an entry is stuck.",
        // Per partition (PERSIST_PARTITIONS): the oldest is the max over pods, never a sum.
        queries: [{ expr: `max by (partition) (${q.clusterSel("parley_persist_stream_oldest_pending_seconds")})`, legend: "partition {{partition}}" }],
        unit: "s",
        min: 0,
        runbooks: ["ParleyPersisterLag"],
      }),
    )
    .panel(
      timeseries({
        title: "Failed entries by reason",
        description: "Persist stream entries whose commit failed, per second: transient (Postgres out of reach: retried) or poison (invalid or refused: dead-lettered).",
        queries: [{ expr: q.sumRate(["reason"], "parley_persist_entries_failed_total"), legend: "{{reason}}" }],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyJobsFailing"],
      }),
    )
    .panel(
      timeseries({
        title: "Dead letters by reason",
        description:
          "Entries (or the refused messages of an entry) moved to the dead-letter stream per second: invalid (unreadable), refused (by Postgres; the senders got INTERNAL), redelivered (read PERSIST_MAX_DELIVERIES times without a commit). None of them is stored.",
        queries: [{ expr: q.sumRate(["reason"], "parley_persist_dead_letters_total"), legend: "{{reason}}" }],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyJobsFailing"],
      }),
    )
    .panel(
      timeseries({
        title: "Reclaimed entries",
        description: "Entries claimed per second from a persister that stopped answering (crashed, or scaled down mid-commit), by the pod that claimed them. Expected after a pod dies; steady reclaims mean persisters keep dying.",
        queries: [{ expr: q.sumRate([], "parley_persist_entries_reclaimed_total"), legend: "reclaimed" }],
        unit: "ops",
        min: 0,
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
