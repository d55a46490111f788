import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { z } from "zod";
import { MAX_PERSIST_PARTITIONS, defaultPersistPartitions } from "@parley/bus";
import { CommonEnv, commonConfig, parseEnv } from "@parley/runtime";

export const PersisterEnv = CommonEnv.extend({
  /** `/metrics`, `/healthz`, `/readyz` for Prometheus and Kubernetes probes. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9101),
  /**
   * Persist stream entries taken by one XREADGROUP. Entries read while a transaction runs are
   * merged into the next one; no new read starts while more than 2 × PERSIST_MAX_BATCH
   * messages are read and not yet committed (one read still brings up to this many entries).
   */
  /**
   * Persist streams (docs/operations.md, "Persist partitions"): the gateways' value. Default 1
   * on one Redis primary, 8 on a Redis Cluster. Persisters read these and also drain any other
   * partition they find (left behind by a change of the count).
   */
  PERSIST_PARTITIONS: z.coerce.number().int().min(1).max(MAX_PERSIST_PARTITIONS).optional(),
  PERSIST_READ_COUNT: z.coerce.number().int().min(1).max(10_000).default(100),
  /**
   * An entry pending this long with a persister that no longer heartbeats it (crashed, or
   * scaled down mid-commit) is claimed by another one. Live persisters re-claim what they hold
   * every third of this, so an outage never hands their entries around.
   */
  PERSIST_CLAIM_IDLE_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
  /** An entry delivered more often than this (a crash loop) goes to the dead-letter stream. */
  PERSIST_MAX_DELIVERIES: z.coerce.number().int().min(1).max(1_000).default(5),
  /**
   * The commit clock: a transaction starts at least this long after the previous one started,
   * so under load the sends arriving in between share one commit (Postgres's cost is mostly per
   * commit); after a quiet spell a send is committed at once. 0 turns the clock off (why:
   * docs/decisions/0003-commit-clock.md).
   */
  PERSIST_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).max(1_000).default(3),
  /**
   * How often the search index's pending list (GIN fastupdate) is merged into the index apart
   * from the commits; 0: never, and the insert that finds the list full merges it inside its
   * commit, with every send queued behind it (why: docs/decisions/0004-search-pending-list-cleaner.md).
   */
  SEARCH_INDEX_CLEAN_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_000),
  /** Messages in one transaction at most. */
  PERSIST_MAX_BATCH: z.coerce.number().int().min(1).max(20_000).default(2_000),
  /**
   * Transactions at once. Conversations are spread over lanes; each lane commits one batch
   * at a time, so a conversation's messages are still fanned out in seq order. One lane
   * makes the biggest batches (why one by default: docs/decisions/0009-one-commit-lane-by-default.md);
   * more lanes help when each commit waits on a distant Postgres.
   */
  PERSIST_LANES: z.coerce.number().int().min(1).max(64).default(1),
  /** Postgres connections: one per lane, plus room for health checks. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(6),
  /** How long a drain waits for the entries in flight before giving up. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(25_000),
  /**
   * Tests only: each commit waits this long after Postgres answered, before anything is
   * published, so a test can kill the process between COMMIT and fan-out deterministically
   * (tests/cluster/test/announce-after-kill.test.ts). 0: off. Refused in production.
   */
  PERSIST_TEST_HOLD_AFTER_COMMIT_MS: z.coerce.number().int().min(0).max(600_000).default(0),
}).superRefine((env, ctx) => {
  if (env.NODE_ENV === "production" && env.PERSIST_TEST_HOLD_AFTER_COMMIT_MS > 0) {
    ctx.addIssue({ code: "custom", path: ["PERSIST_TEST_HOLD_AFTER_COMMIT_MS"], message: "a test hook: must be 0 in production" });
  }
});
export type PersisterEnv = z.infer<typeof PersisterEnv>;

/**
 * How long one XREADGROUP blocks. It bounds how long a stop waits for the read in flight and
 * costs one round trip per second on an idle stream; new entries end the wait at once, so
 * there is nothing for an operator to tune (a constant, not a setting).
 */
const READ_BLOCK_MS: number = 1_000;

/**
 * A consumer with nothing pending, idle this long, is removed from the group: long enough
 * that a pod restarting or partitioned for a while keeps its name, short enough that the group
 * does not list every pod ever started (a constant: no operator has needed another value).
 */
const CONSUMER_IDLE_MS: number = 3_600_000;

/**
 * Commits of this window share one `notify` hand-off: a hand-off costs the delivery service
 * about the same whatever it holds, and notifications wait out a collapse window of seconds
 * (PUSH_COLLAPSE_MS) anyway (why: docs/decisions/0011-notify-hand-off-window.md). A constant,
 * not a setting: a longer window only delays pushes, a shorter one only costs CPU.
 */
const HAND_OFF_WINDOW_MS: number = 250;

/**
 * The persister's configuration, parsed once from `source` and fully defaulted: the wiring
 * (app.ts, server.ts) reads it as is and writes no defaults of its own.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env) {
  const env = parseEnv(PersisterEnv, source);
  const common = commonConfig(env, `persister-${randomBytes(3).toString("hex")}`);
  return {
    common,
    metricsPort: env.METRICS_PORT,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    databasePoolSize: env.DATABASE_POOL_SIZE,
    stream: {
      /**
       * This pod's consumer name in the group. Stable across restarts of the pod (a
       * StatefulSet's or a Deployment pod's name), so a restarted container first re-reads the
       * entries it had read and not committed. Without POD_NAME, the host and process: two
       * persisters on one host must not share a name (each would re-read, and count deliveries
       * of, what the other holds); a restarted one's entries are then reclaimed after
       * PERSIST_CLAIM_IDLE_MS instead.
       */
      consumer: env.POD_NAME ?? `${hostname()}-${process.pid}`,
      /** Partitions read from the start; others found in Redis are drained too (stream/partition-set.ts). */
      partitions: env.PERSIST_PARTITIONS ?? defaultPersistPartitions(common.redis.kind),
      readCount: env.PERSIST_READ_COUNT,
      blockMs: READ_BLOCK_MS,
      claimIdleMs: env.PERSIST_CLAIM_IDLE_MS,
      maxDeliveries: env.PERSIST_MAX_DELIVERIES,
      consumerIdleMs: CONSUMER_IDLE_MS,
    },
    commit: {
      maxBatch: env.PERSIST_MAX_BATCH,
      lanes: env.PERSIST_LANES,
      intervalMs: env.PERSIST_COMMIT_INTERVAL_MS,
      testHoldAfterMs: env.PERSIST_TEST_HOLD_AFTER_COMMIT_MS,
    },
    handOff: { windowMs: HAND_OFF_WINDOW_MS },
    searchIndexCleanMs: env.SEARCH_INDEX_CLEAN_MS,
  } as const;
}

export type PersisterConfig = ReturnType<typeof loadConfig>;
