import { alert, record, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/** Below this many waiting jobs (or unread stream entries) a queue is not worth a ticket, growing or not. */
export const QUEUE_WAITING_FLOOR = 1000;

/**
 * Two kinds of queue. The persist path is a Redis Stream read by the persisters' consumer
 * group: its backlog is the entries added and not yet read by any persister
 * (`parley_persist_stream_lag`). Entries already read and not yet committed (the pending list)
 * are work in hand, bounded by the batches the persisters hold, and are watched by
 * ParleyPersisterLag instead. The delivery queues are BullMQ's: waiting jobs per queue, where
 * `prioritized` is where BullMQ keeps waiting jobs that carry a priority.
 *
 * Every replica reports the same numbers (they are read from Redis at scrape time), hence `max`.
 */
export const queueGrowing: RuleGroup = {
  name: "parley-queues",
  rules: [
    record(
      "namespace_queue:bullmq_waiting_jobs:max",
      `sum by (${BY_NAMESPACE}, queue) (max by (${BY_NAMESPACE}, queue, state) (bullmq_job_count{state=~"waiting|prioritized"}))`,
    ),
    // Per persist partition (PERSIST_PARTITIONS): one partition whose shard or readers fall behind shows on its own.
    record("namespace_partition:parley_persist_stream_lag:max", `max by (${BY_NAMESPACE}, partition) (parley_persist_stream_lag)`),
    alert({
      name: "ParleyQueueGrowing",
      severity: "warning",
      // deriv fits a line through 15 minutes of samples: a steady climb, not one burst.
      expr: `
        namespace_queue:bullmq_waiting_jobs:max > ${QUEUE_WAITING_FLOOR}
        and
        deriv(namespace_queue:bullmq_waiting_jobs:max[15m]) > 0`,
      for: "10m",
      summary: "A BullMQ queue keeps growing: its workers do not keep up",
      description:
        "{{ $value | humanize }} jobs wait in the {{ $labels.queue }} queue and the number has been rising for the " +
        `last 15 minutes (floor ${QUEUE_WAITING_FLOOR}).`,
    }),
    alert({
      name: "ParleyQueueGrowing",
      severity: "warning",
      cause: "persist_stream",
      expr: `
        namespace_partition:parley_persist_stream_lag:max > ${QUEUE_WAITING_FLOOR}
        and
        deriv(namespace_partition:parley_persist_stream_lag:max[15m]) > 0`,
      for: "10m",
      summary: "The persist stream's backlog keeps growing: the persisters do not keep up",
      description:
        "{{ $value | humanize }} entries of persist partition {{ $labels.partition }} wait to be read by a persister and the number has been " +
        `rising for the last 15 minutes (floor ${QUEUE_WAITING_FLOOR}).`,
    }),
  ],
};
