import { Counter, Gauge, type Registry } from "prom-client";

export type RetentionMetrics = ReturnType<typeof createRetentionMetrics>;

export function createRetentionMetrics(registry: Registry) {
  return {
    tombstoned: new Counter({
      name: "parley_retention_tombstoned_total",
      help: "Messages made tombstones by the retention sweep (MESSAGE_RETENTION_DAYS, conversations' retentionDays).",
      registers: [registry],
    }),
    batches: new Counter({
      name: "parley_retention_batches_total",
      help: "Retention batches run (one transaction over at most RETENTION_BATCH_SIZE seqs of one conversation).",
      registers: [registry],
    }),
    lastSweep: new Gauge({
      name: "parley_retention_last_sweep_timestamp_seconds",
      help: "When this replica last finished a retention sweep (Unix seconds; 0: none yet).",
      registers: [registry],
    }),
    lag: new Gauge({
      name: "parley_retention_lag_seconds",
      help: "How far past its retention the oldest message the last sweep left behind is (0: the sweep caught up; above 0: the sweep hit RETENTION_SWEEP_MAX_BATCHES).",
      registers: [registry],
    }),
  };
}
