import { Queue } from "bullmq";
import type { Keyspace } from "@parley/bus";
import { persistBatch, type Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import { CommitBatcher } from "./commit/commit-batcher.js";
import { addDeadLetter } from "./publish/dead-letters.js";
import { createEntryHandler } from "./commit/entry-handler.js";
import { FanOut } from "./publish/fan-out.js";
import { HandOff } from "./publish/hand-off.js";
import { createPersisterMetrics } from "./metrics.js";
import { SearchIndexCleaner } from "./maintenance/search-index-cleaner.js";
import { StreamMaintenance } from "./maintenance/stream-maintenance.js";
import { registerStreamMetrics } from "./stream/stream-metrics.js";
import { StreamReader } from "./stream/stream-reader.js";
import { TurnPipeline } from "./publish/turn-pipeline.js";

export interface PersisterDeps {
  database: Database;
  /** The stream reader's blocking connection (consumer role: offline queue on, unlimited retries). */
  workerRedis: Redis;
  /** Fan-out, acks, XACK, maintenance and the notify hand-off (producer role: fails fast). */
  publishRedis: Redis;
  registry: Registry;
  logger: Logger;
  /** This pod's consumer name in the group: stable across restarts of the pod (POD_NAME, else the hostname). */
  consumer: string;
  /** Messages in one transaction at most; twice this may be read and not yet committed. */
  maxBatch: number;
  /** Transactions at once, by conversation (commit-batcher.ts). */
  lanes: number;
  /** How often the search index's pending list is merged apart from commits (search-index-cleaner.ts; default 1 s, 0: never). */
  searchIndexCleanMs?: number;
  /** The commit clock (commit-lane.ts `minIntervalMs`; PERSIST_COMMIT_INTERVAL_MS, 3 ms by default; 0 or absent: none). */
  commitIntervalMs?: number;
  /** Entries per XREADGROUP (default 100). */
  readCount?: number;
  /** How long an entry may stay pending with a silent persister before another claims it (default 30 s). */
  claimIdleMs?: number;
  /** Deliveries of one entry before it is dead-lettered as `redelivered` (default 5). */
  maxDeliveries?: number;
  /** A consumer with nothing pending, idle this long, is removed from the group (default 1 h). */
  consumerIdleMs?: number;
  /** How long one XREADGROUP blocks (default 1 s; bounds how long a stop waits for it). */
  blockMs?: number;
  keyspace: Keyspace;
  /** Commits of this window share one `notify` hand-off (hand-off.ts; default 250 ms). */
  handOffWindowMs?: number;
}

export interface Persister {
  reader: StreamReader;
  maintenance: StreamMaintenance;
  batcher: CommitBatcher;
  /** Starts reading the persist stream and the housekeeping timer. */
  run(): void;
  /** Stops reading, finishes the entries in flight (commit, fan-out, XACK), then returns (the connections stay open). */
  stop(): Promise<void>;
}

export function buildPersister(deps: PersisterDeps): Persister {
  const metrics = createPersisterMetrics(deps.registry);
  const fanOut = new FanOut(deps.publishRedis, deps.keyspace);
  const pipeline = new TurnPipeline(deps.publishRedis, deps.keyspace, deps.logger, (s) => metrics.fanOutSeconds.observe(s));
  const notifyQueue = new Queue("notify", { connection: deps.publishRedis, prefix: deps.keyspace.queuePrefix });
  notifyQueue.on("error", (err) => deps.logger.debug({ err: err.message }, "notify queue error"));
  const handOff = new HandOff(notifyQueue, metrics, deps.logger, { windowMs: deps.handOffWindowMs ?? 250, maxMessages: 1_000 });
  const batcher = new CommitBatcher({
    maxBatch: deps.maxBatch,
    lanes: deps.lanes,
    minIntervalMs: deps.commitIntervalMs ?? 0,
    commit: (items) => persistBatch(deps.database.sql, items),
    onCommitted: (items, replyTo, outcomes, durationMs) => {
      metrics.batchSize.observe(items.length);
      metrics.commitSeconds.observe(durationMs / 1000);
      for (const o of outcomes) {
        const outcome = o.ok ? (o.duplicate ? "duplicate" : "stored") : o.error.code === "CONFLICT" ? "conflict" : "refused";
        metrics.messages.inc({ outcome });
      }
      fanOut.add(pipeline.get(), items, replyTo, outcomes);
      handOff.committed(outcomes);
    },
  });

  const stopping = new AbortController();
  const redelivered = (id: string, fields: readonly string[], deliveries: number) => {
    metrics.entriesFailed.inc({ reason: "poison" });
    metrics.deadLetters.inc({ reason: "redelivered" });
    deps.logger.error({ entry: id, deliveries }, "persist entry delivered too often (a crash loop?): dead-lettered");
    addDeadLetter(pipeline.get(), deps.keyspace, { reason: "redelivered", error: `delivered ${deliveries} times`, entryId: id, fields });
    pipeline.ack(id);
  };
  const maxDeliveries = deps.maxDeliveries ?? 5;
  // The reader and the handler need each other (the handler holds reading during an outage).
  const readerRef: { current?: StreamReader } = {};
  const handle = createEntryHandler({
    batcher,
    pipeline,
    fanOut,
    keyspace: deps.keyspace,
    metrics,
    logger: deps.logger,
    holdReading: () => readerRef.current!.hold(),
    signal: stopping.signal,
  });
  const reader = new StreamReader({
    redis: deps.workerRedis,
    keyspace: deps.keyspace,
    consumer: deps.consumer,
    readCount: deps.readCount ?? 100,
    blockMs: deps.blockMs ?? 1_000,
    maxInFlightMessages: deps.maxBatch * 2,
    maxDeliveries,
    handle,
    redelivered,
    forget: (id) => pipeline.ack(id),
    logger: deps.logger,
  });
  readerRef.current = reader;
  const maintenance = new StreamMaintenance({
    redis: deps.publishRedis,
    keyspace: deps.keyspace,
    consumer: deps.consumer,
    reader,
    claimIdleMs: deps.claimIdleMs ?? 30_000,
    maxDeliveries,
    consumerIdleMs: deps.consumerIdleMs ?? 3_600_000,
    redelivered,
    metrics,
    logger: deps.logger,
  });
  const searchIndexCleaner = new SearchIndexCleaner({ sql: deps.database.sql, intervalMs: deps.searchIndexCleanMs ?? 1_000, logger: deps.logger });
  registerStreamMetrics({ registry: deps.registry, redis: deps.publishRedis, keyspace: deps.keyspace, logger: deps.logger });

  let stopped: Promise<void> | undefined;
  const streamReader = reader;
  return {
    reader: streamReader,
    maintenance,
    batcher,
    run: () => {
      streamReader.start();
      maintenance.start();
      searchIndexCleaner.start();
    },
    stop: () =>
      (stopped ??= (async () => {
        // Entries waiting out an outage are left pending (re-read on restart, or reclaimed).
        stopping.abort();
        await streamReader.stop();
        await maintenance.stop();
        await searchIndexCleaner.stop();
        await batcher.idle();
        await pipeline.idle();
        await handOff.close();
        await notifyQueue.close().catch(() => {});
      })()),
  };
}
