import { type BuiltDashboard, type DashboardOptions, ParleyDashboard } from "../compose.js";
import { timeseries } from "../panels.js";
import { queueWide } from "../promql.js";
import { activeQueueStates } from "./shared.js";

const DELIVERY_QUEUES = `queue=~"receipts|notify|push"`;

/** The delivery pods (receipts, notifications, presence) and the gateways' presence heartbeats. */
export function deliveryDashboard(options: DashboardOptions = {}): BuiltDashboard {
  const d = new ParleyDashboard({
    uid: "parley-delivery",
    title: "Parley / Delivery and presence",
    description: "Delivery pods: job durations and queue depths (receipts, notify, push), receipts, notifications, presence announcements and sweeps; the gateways' presence heartbeats.",
    tags: ["delivery", "presence"],
    podsFrom: "parley_delivery_receipts_applied_total",
  }, options);
  const { q } = d;
  const jobSeconds = "parley_delivery_job_duration_seconds";

  d.row("Jobs and queues")
    .panel(
      timeseries({
        title: "Job duration by queue",
        description: "Time to process one job, p50 and p99 per queue (receipts: delivered watermarks; notify: offline checks; push: webhook calls).",
        queries: [
          { expr: q.quantile(0.5, jobSeconds, ["queue"]), legend: "p50 {{queue}}" },
          { expr: q.quantile(0.99, jobSeconds, ["queue"]), legend: "p99 {{queue}}" },
        ],
        unit: "s",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Jobs by queue and outcome",
        description: "Jobs processed per second by queue and outcome (ok, failed).",
        queries: [{ expr: q.sumRate(["queue", "outcome"], `${jobSeconds}_count`), legend: "{{queue}} {{outcome}}" }],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Delivery queue depth",
        description: "Jobs waiting, active or delayed in the receipts, notify and push queues (every delivery pod exports the same queues: the max is the queue's count). Delayed push jobs are retries in backoff.",
        queries: [
          {
            expr: queueWide(["queue"], q.clusterSel("bullmq_job_count", DELIVERY_QUEUES, activeQueueStates)),
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
        title: "Failed jobs by queue",
        description: "Jobs of the delivery queues that failed per second.",
        queries: [{ expr: queueWide(["queue"], `rate(${q.clusterSel("bullmq_job_failed_total", DELIVERY_QUEUES)}[$__rate_interval])`), legend: "{{queue}}" }],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyJobsFailing"],
      }),
    );

  d.row("Receipts")
    .panel(
      timeseries({
        title: "Receipts per second",
        description: "Delivered watermarks applied to Postgres, those that moved (the rest were behind the stored one), and receipt events emitted to conversation rooms, per second.",
        queries: [
          { expr: `sum(${q.rate("parley_delivery_receipts_applied_total")})`, legend: "applied" },
          { expr: `sum(${q.rate("parley_delivery_receipts_moved_total")})`, legend: "moved" },
          { expr: `sum(${q.rate("parley_delivery_receipts_emitted_total")})`, legend: "emitted" },
        ],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Receipt batch size",
        description: "Delivered watermarks applied in one SQL statement: p50 and p99.",
        queries: [
          { expr: q.quantile(0.5, "parley_delivery_receipt_batch_size"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_delivery_receipt_batch_size"), legend: "p99" },
        ],
        unit: "short",
        min: 0,
      }),
    );

  d.row("Notifications")
    .panel(
      timeseries({
        title: "Notifications by outcome",
        description: "Offline notifications per second: sent (the notifier accepted), failed by reason (retry, rejected, exhausted), skipped by reason (online, read, deleted, not_member, disabled, stale), collapse windows opened and messages collapsed into an open one.",
        queries: [
          { expr: `sum(${q.rate("parley_delivery_notifications_sent_total")})`, legend: "sent" },
          { expr: q.sumRate(["reason"], "parley_delivery_notifications_failed_total"), legend: "failed {{reason}}" },
          { expr: q.sumRate(["reason"], "parley_delivery_notifications_skipped_total"), legend: "skipped {{reason}}" },
          { expr: `sum(${q.rate("parley_delivery_notification_windows_total")})`, legend: "windows opened" },
          { expr: `sum(${q.rate("parley_delivery_notifications_collapsed_total")})`, legend: "collapsed" },
        ],
        unit: "ops",
        min: 0,
        width: 24,
      }),
    );

  d.row("Events webhook")
    .panel(
      timeseries({
        title: "Events by outcome",
        description: "Events queued (gateways and this service) and posted to EVENTS_WEBHOOK_URL per second: delivered, retry (failed, tried again with backoff), dead (out of attempts or refused; kept for npm run events:replay).",
        queries: [
          { expr: q.sumRate(["outcome"], "parley_events_queued_total"), legend: "queued {{outcome}}" },
          { expr: q.sumRate(["outcome"], "parley_events_deliveries_total"), legend: "{{outcome}}" },
        ],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyJobsFailing"],
      }),
    )
    .panel(
      timeseries({
        title: "Event POST latency",
        description: "p99 of one event POST by outcome (ok, error).",
        queries: [{ expr: q.quantile(0.99, "parley_events_delivery_seconds", ["outcome"]), legend: "p99 {{outcome}}" }],
        unit: "s",
        min: 0,
      }),
    );

  d.row("Retention and erasure")
    .panel(
      timeseries({
        title: "Tombstones made",
        description: "Messages made tombstones per second by the retention sweep and by user erasures.",
        queries: [
          { expr: `sum(${q.rate("parley_retention_tombstoned_total")})`, legend: "retention" },
          { expr: `sum(${q.rate("parley_erasure_tombstoned_total")})`, legend: "erasure" },
        ],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Retention lag",
        description: "How far past its retention the oldest message the last sweep left behind is (0: caught up), and the time since a sweep last finished.",
        queries: [
          { expr: `max(${q.sel("parley_retention_lag_seconds")})`, legend: "lag" },
          { expr: `time() - max(${q.sel("parley_retention_last_sweep_timestamp_seconds")} > 0)`, legend: "since last sweep" },
        ],
        unit: "s",
        min: 0,
        runbooks: ["ParleyRetentionBehind"],
      }),
    );

  d.row("Presence")
    .panel(
      timeseries({
        title: "Presence events",
        description: "presence events published per second by status, changes coalesced (flapped within one window: nothing sent) and offline changes deferred for the grace period.",
        queries: [
          { expr: q.sumRate(["status"], "parley_presence_events_total"), legend: "{{status}}" },
          { expr: `sum(${q.rate("parley_presence_coalesced_total")})`, legend: "coalesced" },
          { expr: `sum(${q.rate("parley_presence_offline_deferred_total")})`, legend: "offline deferred" },
        ],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Sweeps and swept pods",
        description: "Sweeps for gateway pods whose heartbeat is older than the TTL, per second by outcome, and gateway pods declared dead (heartbeat loss: their users go offline).",
        queries: [
          { expr: q.sumRate(["outcome"], "parley_presence_sweeps_total"), legend: "sweeps {{outcome}}/s" },
          { expr: `sum(increase(${q.sel("parley_presence_swept_pods_total")}[$__rate_interval]))`, legend: "pods swept" },
        ],
        unit: "short",
        min: 0,
        runbooks: ["ParleyHeartbeatLoss"],
      }),
    )
    .panel(
      timeseries({
        title: "Presence flush duration",
        description: "One flush (take the dirty users, find their conversations, publish, keep last-seen times): p50 and p99.",
        queries: [
          { expr: q.quantile(0.5, "parley_presence_flush_duration_seconds"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_presence_flush_duration_seconds"), legend: "p99" },
        ],
        unit: "s",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Presence errors",
        description: "Flushes that failed (retried next tick) and last-seen times that could not be kept in Postgres, per second.",
        queries: [
          { expr: `sum(${q.rate("parley_presence_flush_errors_total")})`, legend: "flush errors" },
          { expr: `sum(${q.rate("parley_presence_last_seen_write_errors_total")})`, legend: "last-seen write errors" },
        ],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Gateway heartbeats by outcome",
        description: "Presence heartbeats of the gateway pods per second by outcome (ok; unknown: the pod had been swept and re-registers; error: Redis out of reach), and re-registrations by outcome. Gateway series: not filtered by the pod variable.",
        queries: [
          { expr: `sum by (outcome) (rate(${q.clusterSel("parley_presence_heartbeats_total")}[$__rate_interval]))`, legend: "heartbeat {{outcome}}" },
          { expr: `sum by (outcome) (rate(${q.clusterSel("parley_presence_resyncs_total")}[$__rate_interval]))`, legend: "resync {{outcome}}" },
        ],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyHeartbeatLoss"],
        width: 24,
      }),
      { core: true },
    );

  return d.build();
}
