import { randomBytes } from "node:crypto";
import { z } from "zod";
import { CommonEnv, commonConfig, parseEnv } from "@parley/runtime";

export const DeliveryEnv = CommonEnv.extend({
  /** `/metrics`, `/healthz`, `/readyz` for Prometheus and Kubernetes probes. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9102),
  /** How long a drain waits for in-flight jobs. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(25_000),
  /** Postgres connections: receipt batches, hand-offs and push checks. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  /** Receipt jobs taken at once; those waiting while a statement runs are merged into the next one. */
  RECEIPT_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(64),
  /** Delivered watermarks in one UPDATE at most. */
  RECEIPT_MAX_BATCH: z.coerce.number().int().min(1).max(50_000).default(5_000),
  /**
   * Above this many members a delivered receipt goes only to the senders of the messages it
   * covers, not to the whole room (each member's receipt sent to every member grows with the
   * square of the room). 100: a group's members all see who got what, as chat apps show it;
   * keep it equal to the gateways' RECEIPT_ROOM_MAX_MEMBERS.
   */
  RECEIPT_ROOM_MAX_MEMBERS: z.coerce.number().int().min(0).max(1_000_000).default(100),
  /**
   * Hand-off jobs (committed batches) processed at once by this replica. Counts stay exact at any
   * value and with any number of replicas: the collapse script counts each seq once, in any order.
   */
  NOTIFY_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(1),
  /** Notifications being sent at once (each waits on the receiver). */
  PUSH_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  /** The webhook that receives offline notifications; unset turns notifications off. */
  PUSH_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** HMAC-SHA256 key the webhook's requests are signed with (docs/notifications.md). */
  PUSH_WEBHOOK_SECRET: z.string().min(16, "PUSH_WEBHOOK_SECRET must be at least 16 characters").optional(),
  /** Messages to one recipient in one conversation within this window become one notification. */
  PUSH_COLLAPSE_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
  /** Tries per notification before it is given up. */
  PUSH_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** First retry's delay; each next one doubles (8 attempts: about 2 minutes in all). */
  PUSH_BACKOFF_MS: z.coerce.number().int().min(1).max(3_600_000).default(1_000),
  /** One webhook call's time limit; a timeout is retried. */
  PUSH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /** Characters of the latest message's current text in a notification; 0 sends no text at all. */
  PUSH_PREVIEW_CHARS: z.coerce.number().int().min(0).max(280).default(140),
  /**
   * A gateway pod whose heartbeat (PRESENCE_HEARTBEAT_MS, default 5 s) is older than this is
   * dead and its sockets stop counting. With the flush below, a killed pod's users are
   * announced offline within TTL + 2 × flush (22 s by default; the contract says 30 s).
   */
  PRESENCE_TTL_MS: z.coerce.number().int().min(1_000).max(60_000).default(20_000),
  /** How often presence changes are taken and announced: the coalescing window. */
  PRESENCE_FLUSH_MS: z.coerce.number().int().min(50).max(10_000).default(1_000),
  /**
   * A user is announced offline only after being offline this long, so a flaky network's
   * drop-and-reconnect announces nothing wherever the flush windows fall.
   */
  PRESENCE_OFFLINE_GRACE_MS: z.coerce.number().int().min(0).max(10_000).default(2_000),
  /**
   * The events webhook (protocol.md v1.1): signed JSON events, at least once. Unset: no events
   * are queued or sent.
   */
  EVENTS_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** HMAC-SHA256 key the events are signed with, as the push webhook's requests (docs/webhooks.md). */
  EVENTS_WEBHOOK_SECRET: z.string().min(16, "EVENTS_WEBHOOK_SECRET must be at least 16 characters").optional(),
  /** One event POST's time limit; a time-out is retried. */
  EVENTS_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  /**
   * Tries per event before it is kept as dead (replayable, docs/webhooks.md). 15 from 1 s,
   * doubling: the last try about 9 hours after the first, so a receiver down overnight loses
   * nothing that a replay has to bring back.
   */
  EVENTS_WEBHOOK_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(15),
  /** The first retry's delay; each next one doubles. */
  EVENTS_WEBHOOK_BACKOFF_MS: z.coerce.number().int().min(1).max(3_600_000).default(1_000),
  /** Event POSTs in flight at once on this replica (each waits on the receiver). */
  EVENTS_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(1_000).default(16),
  /**
   * Days after which a message becomes a tombstone (protocol.md v1.1); a conversation's own
   * retentionDays overrides it. Unset (the contract's default): messages are kept forever.
   */
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  /** How often the retention sweep runs (a BullMQ job scheduler: one run at a time cluster-wide). Hourly: retention is in days. */
  RETENTION_SWEEP_MS: z.coerce.number().int().min(1_000).max(7 * 24 * 3_600_000).default(3_600_000),
  /** Seqs of one conversation one retention batch (one transaction) covers: bounded locks and WAL per statement. */
  RETENTION_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(1_000),
  /** Batches one sweep runs at most; the rest waits for the next sweep (parley_retention_lag_seconds shows it). */
  RETENTION_SWEEP_MAX_BATCHES: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** Rows one erasure batch (one transaction) covers. */
  ERASURE_BATCH_SIZE: z.coerce.number().int().min(1).max(100_000).default(500),
  /**
   * How long an erasure job's lock lasts without renewal: a worker killed mid-way leaves the job
   * to another worker after this (BullMQ's stalled check), which runs it again from what is left.
   */
  ERASURE_LOCK_MS: z.coerce.number().int().min(1_000).max(600_000).default(30_000),
}).superRefine((env, ctx) => {
  if (env.EVENTS_WEBHOOK_URL && !env.EVENTS_WEBHOOK_SECRET) {
    ctx.addIssue({ code: "custom", path: ["EVENTS_WEBHOOK_SECRET"], message: "EVENTS_WEBHOOK_URL needs EVENTS_WEBHOOK_SECRET to sign its requests" });
  }
  if (env.PUSH_WEBHOOK_URL && !env.PUSH_WEBHOOK_SECRET) {
    ctx.addIssue({ code: "custom", path: ["PUSH_WEBHOOK_SECRET"], message: "PUSH_WEBHOOK_URL needs PUSH_WEBHOOK_SECRET to sign its requests" });
  }
});
export type DeliveryEnv = z.infer<typeof DeliveryEnv>;

/**
 * The delivery service's configuration: parsed once, fully defaulted, grouped by concern.
 * The wiring reads it as it is and writes no defaults of its own.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env) {
  const env = parseEnv(DeliveryEnv, source);
  return {
    common: commonConfig(env, `delivery-${randomBytes(3).toString("hex")}`),
    metricsPort: env.METRICS_PORT,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    database: { poolSize: env.DATABASE_POOL_SIZE },
    receipts: { concurrency: env.RECEIPT_CONCURRENCY, maxBatch: env.RECEIPT_MAX_BATCH, roomMaxMembers: env.RECEIPT_ROOM_MAX_MEMBERS },
    notifications: {
      collapseMs: env.PUSH_COLLAPSE_MS,
      attempts: env.PUSH_ATTEMPTS,
      backoffMs: env.PUSH_BACKOFF_MS,
      handOffConcurrency: env.NOTIFY_CONCURRENCY,
      pushConcurrency: env.PUSH_CONCURRENCY,
      previewChars: env.PUSH_PREVIEW_CHARS,
      /** Undefined turns notifications off (the schema makes a URL come with its secret). */
      webhook:
        env.PUSH_WEBHOOK_URL && env.PUSH_WEBHOOK_SECRET
          ? { url: env.PUSH_WEBHOOK_URL, secret: env.PUSH_WEBHOOK_SECRET, timeoutMs: env.PUSH_TIMEOUT_MS }
          : undefined,
    },
    presence: { ttlMs: env.PRESENCE_TTL_MS, flushMs: env.PRESENCE_FLUSH_MS, offlineGraceMs: env.PRESENCE_OFFLINE_GRACE_MS },
    /** Undefined: no events webhook (the schema makes a URL come with its secret). */
    events:
      env.EVENTS_WEBHOOK_URL && env.EVENTS_WEBHOOK_SECRET
        ? {
            url: env.EVENTS_WEBHOOK_URL,
            secret: env.EVENTS_WEBHOOK_SECRET,
            timeoutMs: env.EVENTS_WEBHOOK_TIMEOUT_MS,
            attempts: env.EVENTS_WEBHOOK_ATTEMPTS,
            backoffMs: env.EVENTS_WEBHOOK_BACKOFF_MS,
            concurrency: env.EVENTS_WEBHOOK_CONCURRENCY,
          }
        : undefined,
    retention: {
      defaultDays: env.MESSAGE_RETENTION_DAYS,
      sweepMs: env.RETENTION_SWEEP_MS,
      batchSize: env.RETENTION_BATCH_SIZE,
      maxBatches: env.RETENTION_SWEEP_MAX_BATCHES,
    },
    erasure: { batchSize: env.ERASURE_BATCH_SIZE, lockMs: env.ERASURE_LOCK_MS },
  } as const;
}
export type DeliveryConfig = ReturnType<typeof loadConfig>;
