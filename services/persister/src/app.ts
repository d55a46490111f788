import { setTimeout as sleep } from "node:timers/promises";
import { Queue } from "bullmq";
import type { Keyspace } from "@parley/bus";
import { commitBatch, type Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import { CommitBatcher } from "./commit/commit-batcher.js";
import { createEntryHandler } from "./commit/entry-handler.js";
import type { PersisterConfig } from "./env.js";
import { SearchIndexCleaner } from "./maintenance/search-index-cleaner.js";
import { createPersisterMetrics, registerHeldMessagesGauge } from "./metrics.js";
import { AfterCommit } from "./publish/after-commit.js";
import { DeadLetters } from "./publish/dead-letters.js";
import { FanOut } from "./publish/fan-out.js";
import { HAND_OFF_MAX_MESSAGES, HandOff } from "./publish/hand-off.js";
import { TurnPipeline } from "./publish/turn-pipeline.js";
import { ReadGate } from "./stream/read-gate.js";
import { PartitionSet } from "./stream/partition-set.js";
import { PartitionWorker, uncommittedMarkMs } from "./stream/partition-worker.js";
import { registerStreamMetrics } from "./stream/stream-metrics.js";

/**
 * How often a persister looks for partitions beyond PERSIST_PARTITIONS (left by a change of the
 * count): 63 EXISTS, each a few microseconds; a new one's entries wait at most this long.
 */
const PARTITION_PROBE_MS = 5_000;

export interface PersisterDeps {
  database: Database;
  /** The stream reader's blocking connection (consumer role: offline queue on, unlimited retries). */
  workerRedis: Redis;
  /** Fan-out, acks, XACK, maintenance and the notify hand-off (producer role: fails fast). */
  publishRedis: Redis;
  registry: Registry;
  logger: Logger;
  keyspace: Keyspace;
  /** From loadConfig (env.ts), fully defaulted. */
  config: Pick<PersisterConfig, "stream" | "commit" | "handOff" | "searchIndexCleanMs">;
}

export interface Persister {
  /** The partitions read, each with its reader and housekeeping (tests call a partition's `maintenance.trim()`). */
  partitions: PartitionSet;
  /** Starts reading the persist partitions, their reclaimers and the housekeeping timers. */
  run(): void;
  /** Stops reading, finishes the entries in flight (commit, fan-out, XACK), then returns (the connections stay open). */
  stop(): Promise<void>;
}

/**
 * The persister, stage by stage: `stream/` reads each persist partition (held back by the
 * read gate) and reclaims a vanished persister's entries, `commit/` takes each entry through the
 * commit lanes, `publish/` fans out, answers and XACKs what was committed (or dead-letters
 * what cannot be), `maintenance/` trims the stream, forgets idle consumers and merges the
 * search index's pending list.
 */
export function buildPersister(deps: PersisterDeps): Persister {
  const { config, keyspace, logger } = deps;
  const metrics = createPersisterMetrics(deps.registry);

  const pipeline = new TurnPipeline(deps.publishRedis, logger, (s) => metrics.fanOutSeconds.observe(s));
  const fanOut = new FanOut(deps.publishRedis, keyspace);
  const notifyQueue = new Queue("notify", { connection: deps.publishRedis, prefix: keyspace.queuePrefix });
  notifyQueue.on("error", (err) => logger.debug({ err: err.message }, "notify queue error"));
  const handOff = new HandOff(notifyQueue, metrics, logger, { windowMs: config.handOff.windowMs, maxMessages: HAND_OFF_MAX_MESSAGES });
  const afterCommit = new AfterCommit({ pipeline, fanOut, handOff, metrics });
  const deadLetters = new DeadLetters({ pipeline, fanOut, metrics, logger });

  const batcher = new CommitBatcher({
    maxBatch: config.commit.maxBatch,
    lanes: config.commit.lanes,
    minIntervalMs: config.commit.intervalMs,
    commit: async (items) => {
      const outcomes = await commitBatch(deps.database.sql, items);
      if (config.commit.testHoldAfterMs > 0) {
        logger.warn({ messages: items.length, holdMs: config.commit.testHoldAfterMs }, "committed; holding before publishing (PERSIST_TEST_HOLD_AFTER_COMMIT_MS)");
        await sleep(config.commit.testHoldAfterMs);
      }
      return outcomes;
    },
    onCommitted: (items, replyTo, outcomes, durationMs) => afterCommit.committed(items, replyTo, outcomes, durationMs),
    onHeld: (messages) => metrics.heldByLock.inc(messages),
  });
  registerHeldMessagesGauge(deps.registry, () => batcher.heldMessages());

  const stopping = new AbortController();
  const readGate = new ReadGate();
  const handle = createEntryHandler({ batcher, afterCommit, deadLetters, metrics, logger, readGate, signal: stopping.signal });
  // Each partition's reader blocks on a connection of its own (XREADGROUP BLOCK holds it while
  // it waits); partition 0 uses the one given, the others duplicates, closed on stop.
  const readerConnections: Redis[] = [];
  const partitions = new PartitionSet({
    keyspace,
    configured: config.stream.partitions,
    redis: deps.publishRedis,
    probeEveryMs: PARTITION_PROBE_MS,
    logger,
    open: (partition, onVanished) => {
      let readerRedis = deps.workerRedis;
      if (partition.index !== 0) readerConnections.push((readerRedis = deps.workerRedis.duplicate()));
      const own = readerRedis !== deps.workerRedis ? readerRedis : undefined;
      return new PartitionWorker({
        partition,
        readerRedis,
        publishRedis: deps.publishRedis,
        config: config.stream,
        maxInFlightMessages: config.commit.maxBatch * 2,
        // A held conversation's messages wait aside (commit-lane.ts) up to this many per partition.
        maxWaitingMessages: config.commit.maxBatch * 8,
        markEveryMs: uncommittedMarkMs(config.stream.partitions),
        gate: readGate,
        handle,
        afterCommit,
        deadLetters,
        metrics,
        logger,
        // A retired partition's reader stops for good: its connection goes with it.
        onVanished: onVanished && (() => {
          onVanished();
          if (own) readerConnections.splice(readerConnections.indexOf(own), 1);
          own?.disconnect();
        }),
      });
    },
  });
  const searchIndexCleaner = new SearchIndexCleaner({ sql: deps.database.sql, intervalMs: config.searchIndexCleanMs, logger });
  registerStreamMetrics({ registry: deps.registry, redis: deps.publishRedis, partitions: () => partitions.partitions(), logger });

  let stopped: Promise<void> | undefined;
  return {
    partitions,
    run: () => {
      partitions.start();
      searchIndexCleaner.start();
    },
    stop: () =>
      (stopped ??= (async () => {
        // Order: no new entries (reading, then reclaiming), then the commits in flight, then
        // what they publish, then the hand-off queue they publish to. Entries waiting out an
        // outage are left pending (re-read on restart, or reclaimed).
        stopping.abort();
        batcher.stopWaiting();
        await partitions.stopTaking();
        await searchIndexCleaner.stop();
        await batcher.idle();
        await afterCommit.drain();
        await partitions.stopMarks();
        await Promise.all(readerConnections.map((c) => c.quit().catch(() => c.disconnect())));
        await notifyQueue.close().catch((err: unknown) => logger.debug({ err: String(err) }, "closing the notify queue failed"));
      })()),
  };
}
