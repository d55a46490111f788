import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

export type PersisterMetrics = ReturnType<typeof createPersisterMetrics>;

/** Labelled counters start at 0 (startAtZero), so a first failure is an increase alerts can see. */
export function createPersisterMetrics(registry: Registry) {
  return {
    batchSize: new Histogram({
      name: "parley_persist_batch_size",
      help: "Messages committed in one Postgres transaction.",
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: "parley_persist_commit_duration_seconds",
      help: "Time to commit one batch in Postgres.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    lagSeconds: new Histogram({
      name: "parley_persist_lag_seconds",
      help: "From the persist stream entry added by the gateway to its commit in Postgres.",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    fanOutSeconds: new Histogram({
      name: "parley_persist_fanout_seconds",
      help: "From a batch's commit to its live fan-out (message:new to the conversations' rooms and the acks to the waiting gateways) published to Redis.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    messages: startAtZero(
      new Counter({
        name: "parley_persist_messages_total",
        help: "Messages answered by the persister, by outcome (stored, duplicate, conflict, refused).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", ["stored", "duplicate", "conflict", "refused"]),
    ),
    entriesFailed: startAtZero(
      new Counter({
        name: "parley_persist_entries_failed_total",
        help: "Persist stream entries whose commit failed, by reason (transient: Postgres out of reach, retried; poison: invalid or refused, dead-lettered).",
        labelNames: ["reason"] as const,
        registers: [registry],
      }),
      eachOf("reason", ["transient", "poison"]),
    ),
    deadLetters: startAtZero(
      new Counter({
        name: "parley_persist_dead_letters_total",
        help: "Entries (or the refused messages of an entry) moved to the persist dead-letter stream, by reason (invalid, refused, redelivered).",
        labelNames: ["reason"] as const,
        registers: [registry],
      }),
      eachOf("reason", ["invalid", "refused", "redelivered"]),
    ),
    announcedAgain: new Counter({
      name: "parley_persist_announced_again_total",
      help: "Messages a redelivered or retried persist entry found already stored, announced again (message:new and the push hand-off), because the try that stored them may have died before announcing them.",
      registers: [registry],
    }),
    reclaimed: new Counter({
      name: "parley_persist_entries_reclaimed_total",
      help: "Persist stream entries claimed from a persister that stopped answering (crashed or scaled down).",
      registers: [registry],
    }),
    heldByLock: new Counter({
      name: "parley_persist_held_by_lock_total",
      help: "Messages whose commit was put off because another transaction held their conversation's row; they wait aside, in order, and are tried again with backoff while other conversations commit.",
      registers: [registry],
    }),
    handOffs: startAtZero(
      new Counter({
        name: "parley_persist_handoffs_total",
        help: "Hand-offs of committed messages to the delivery service for notifications (one notify job per 250 ms window of commits), by outcome (ok, failed).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", ["ok", "failed"]),
    ),
  };
}

/** Messages waiting aside for a held conversation row, read at scrape time. */
export function registerHeldMessagesGauge(registry: Registry, read: () => number): void {
  new Gauge({
    name: "parley_persist_held_messages",
    help: "Messages waiting for a conversation row another Postgres transaction holds (a long transaction, a migration); the other conversations keep committing.",
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
