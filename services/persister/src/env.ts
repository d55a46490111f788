import { z } from "zod";
import { CommonEnv, parseEnv } from "@parley/runtime";

export const PersisterEnv = CommonEnv.extend({
  /** `/metrics`, `/healthz`, `/readyz` for Prometheus and Kubernetes probes. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65_535).default(9101),
  /**
   * Persist stream entries taken by one XREADGROUP. Entries read while a transaction runs are
   * merged into the next one; no new read starts while more than 2 × PERSIST_MAX_BATCH
   * messages are read and not yet committed (one read still brings up to this many entries).
   */
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
   * commit); after a quiet spell a send is committed at once. 0 turns the clock off.
   */
  PERSIST_COMMIT_INTERVAL_MS: z.coerce.number().int().min(0).max(1_000).default(3),
  /**
   * How often the search index's pending list (GIN fastupdate) is merged into the index apart
   * from the commits; 0: never, and the insert that finds the list full merges it (a commit of
   * 100 ms or more, with every send queued behind it).
   */
  SEARCH_INDEX_CLEAN_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_000),
  /** Messages in one transaction at most. */
  PERSIST_MAX_BATCH: z.coerce.number().int().min(1).max(20_000).default(2_000),
  /**
   * Transactions at once. Conversations are spread over lanes; each lane commits one batch
   * at a time, so a conversation's messages are still fanned out in seq order. One lane
   * makes the biggest batches (measured best on one machine: docs/benchmarks.md); more lanes
   * help when each commit waits on a distant Postgres.
   */
  PERSIST_LANES: z.coerce.number().int().min(1).max(64).default(1),
  /** Postgres connections: one per lane, plus room for health checks. */
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(6),
  /** How long a drain waits for the entries in flight before giving up. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(25_000),
});
export type PersisterEnv = z.infer<typeof PersisterEnv>;

export const loadEnv = (source: Record<string, string | undefined> = process.env) => parseEnv(PersisterEnv, source);
