import { alert, record, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/** Below this many waiting jobs a queue is not worth a ticket, growing or not. */
export const QUEUE_WAITING_FLOOR = 1000;

/**
 * Waiting jobs per queue. Every replica that exports a queue reports the same numbers (they
 * are read from Redis), hence `max` per state; `prioritized` is where BullMQ keeps waiting
 * jobs that carry a priority.
 */
export const queueGrowing: RuleGroup = {
  name: "parley-queues",
  rules: [
    record(
      "namespace_queue:bullmq_waiting_jobs:max",
      `sum by (${BY_NAMESPACE}, queue) (max by (${BY_NAMESPACE}, queue, state) (bullmq_job_count{state=~"waiting|prioritized"}))`,
    ),
    alert({
      name: "ParleyQueueGrowing",
      severity: "ticket",
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
  ],
};
