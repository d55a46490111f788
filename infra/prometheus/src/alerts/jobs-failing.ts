import { alert, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * Counted at least once in the last `window`. The services export these counters at 0 from
 * the start (startAtZero in libs/runtime), so a first failure is an increase like any other.
 */
export function countedWithin(series: string, window: string): string {
  return `sum by (${BY_NAMESPACE}) (increase(${series}[${window}])) > 0`;
}

/**
 * Work given up for good, each a user-visible loss: a persist stream entry (or the refused
 * messages of one) moved to the dead-letter stream (refused by Postgres: its senders got
 * INTERNAL; unreadable; or delivered PERSIST_MAX_DELIVERIES times without a commit, a crash
 * loop), a receipt or notification job out of
 * attempts, a notification the receiver refused. Retries that later succeed are not counted by
 * any of these.
 */
export const jobsFailing: RuleGroup = {
  name: "parley-jobs",
  rules: [
    alert({
      name: "ParleyJobsFailing",
      severity: "warning",
      cause: "dead_letters",
      // Each entry is dead-lettered by one persister, which counts it: sum over pods, per reason.
      expr: `sum by (${BY_NAMESPACE}, reason) (increase(parley_persist_dead_letters_total[10m])) > 0`,
      summary: "Persist stream entries or messages were moved to the dead-letter stream",
      description:
        "Persist stream entries or messages dead-lettered ({{ $labels.reason }}) in the last 10 minutes: {{ $value | humanize }}. " +
        "Their messages are not stored; they wait in the dead-letter stream to be looked at and replayed or dropped.",
    }),
    alert({
      name: "ParleyJobsFailing",
      severity: "warning",
      cause: "attempts_exhausted",
      // Replicas exporting one queue report the same Redis counter: max, not sum.
      expr: `max by (${BY_NAMESPACE}, queue) (increase(bullmq_job_failed_total[15m])) > 0`,
      summary: "BullMQ jobs fail after their last attempt",
      description: "Jobs of the {{ $labels.queue }} queue failed for good in the last 15 minutes: {{ $value | humanize }}.",
    }),
    alert({
      name: "ParleyJobsFailing",
      severity: "warning",
      cause: "notifications_lost",
      expr: countedWithin(`parley_delivery_notifications_failed_total{reason=~"rejected|exhausted"}`, "15m"),
      summary: "Offline notifications are lost (refused by the receiver or out of attempts)",
      description:
        "Offline notifications given up in the last 15 minutes: {{ $value | humanize }} " +
        "(the webhook refused them, or every attempt failed).",
    }),
  ],
};
