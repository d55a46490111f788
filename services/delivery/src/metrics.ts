import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, Histogram, type Registry } from "prom-client";

export type DeliveryMetrics = ReturnType<typeof createDeliveryMetrics>;

const durationBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Base units, low-cardinality labels: never a user or conversation id. */
export function createDeliveryMetrics(registry: Registry) {
  return {
    jobSeconds: new Histogram({
      name: "parley_delivery_job_duration_seconds",
      help: "Time to process one delivery job, by queue (receipts, notify, push) and outcome (ok, failed).",
      labelNames: ["queue", "outcome"] as const,
      buckets: durationBuckets,
      registers: [registry],
    }),
    receiptsApplied: new Counter({
      name: "parley_delivery_receipts_applied_total",
      help: "Delivered watermarks handed to Postgres (after coalescing per conversation and user).",
      registers: [registry],
    }),
    receiptsMoved: new Counter({
      name: "parley_delivery_receipts_moved_total",
      help: "Delivered watermarks that actually moved (the others were lower than the stored one).",
      registers: [registry],
    }),
    receiptsEmitted: new Counter({
      name: "parley_delivery_receipts_emitted_total",
      help: "receipt events published to conversation rooms by the delivery service.",
      registers: [registry],
    }),
    receiptsNarrowed: new Counter({
      name: "parley_delivery_receipts_narrowed_total",
      help: "Delivered receipts of conversations above RECEIPT_ROOM_MAX_MEMBERS, sent only to the senders of the messages they cover instead of the whole room.",
      registers: [registry],
    }),
    receiptBatchSize: new Histogram({
      name: "parley_delivery_receipt_batch_size",
      help: "Delivered watermarks applied in one SQL statement.",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    notificationsSent: new Counter({
      name: "parley_delivery_notifications_sent_total",
      help: "Notifications the notifier accepted.",
      registers: [registry],
    }),
    // Starts at 0 for every reason, so the first lost notification is an increase alerts can see.
    notificationsFailed: startAtZero(
      new Counter({
        name: "parley_delivery_notifications_failed_total",
        help: "Notification attempts that failed, by reason (retry: will be tried again; rejected: refused for good by the receiver; exhausted: out of attempts).",
        labelNames: ["reason"] as const,
        registers: [registry],
      }),
      eachOf("reason", ["retry", "rejected", "exhausted"]),
    ),
    notificationsSkipped: new Counter({
      name: "parley_delivery_notifications_skipped_total",
      help: "Notifications not sent, by reason (online, read, deleted, not_member, disabled, stale, muted, blocked).",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    notificationsCollapsed: new Counter({
      name: "parley_delivery_notifications_collapsed_total",
      help: "Messages folded into a notification window that was already open (not a notification of their own).",
      registers: [registry],
    }),
    notificationWindows: new Counter({
      name: "parley_delivery_notification_windows_total",
      help: "Collapse windows opened: one notification each, unless skipped.",
      registers: [registry],
    }),
  };
}
