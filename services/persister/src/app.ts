import { Queue, Worker } from "bullmq";
import type { Keyspace } from "@parley/bus";
import { persistBatch, type Database } from "@parley/db";
import { BULLMQ_WORKER_METRICS, registerQueueMetrics, type Logger, type Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import { CommitBatcher } from "./commit-batcher.js";
import { FanOut } from "./fan-out.js";
import { HandOff } from "./hand-off.js";
import { createPersisterMetrics } from "./metrics.js";
import { createPersistProcessor } from "./persist-processor.js";

export interface PersisterDeps {
  database: Database;
  /** BullMQ's blocking connection (consumer role: offline queue on, unlimited retries). */
  workerRedis: Redis;
  /** Fan-out and acks (producer role). */
  publishRedis: Redis;
  registry: Registry;
  logger: Logger;
  concurrency: number;
  maxBatch: number;
  /** Transactions at once, by conversation (commit-batcher.ts). */
  lanes: number;
  keyspace: Keyspace;
  /** Commits of this window share one `notify` hand-off (hand-off.ts; default 250 ms). */
  handOffWindowMs?: number;
}

export interface Persister {
  worker: Worker;
  batcher: CommitBatcher;
  /** Stops taking jobs, finishes the ones in flight, then returns (the connections stay open). */
  stop(): Promise<void>;
}

export function buildPersister(deps: PersisterDeps): Persister {
  const metrics = createPersisterMetrics(deps.registry);
  const fanOut = new FanOut(deps.publishRedis, deps.keyspace);
  // Called right after the commit (commit-lane.ts), so the time to the pipeline's answer is
  // commit → fan-out published.
  const publish: FanOut["publish"] = (items, replyTo, outcomes) => {
    const committedAt = performance.now();
    return fanOut.publish(items, replyTo, outcomes).then(
      () => metrics.fanOutSeconds.observe((performance.now() - committedAt) / 1000),
      (err: unknown) => {
        // The rows are committed; a lost fan-out is recovered by clients' sync, a lost ack by their retry.
        deps.logger.warn({ err: String(err) }, "fan-out after commit failed");
      },
    );
  };

  const notifyQueue = new Queue("notify", { connection: deps.publishRedis, prefix: deps.keyspace.queuePrefix });
  notifyQueue.on("error", (err) => deps.logger.debug({ err: err.message }, "notify queue error"));
  const handOff = new HandOff(notifyQueue, metrics, deps.logger, { windowMs: deps.handOffWindowMs ?? 250, maxMessages: 1_000 });

  const batcher = new CommitBatcher({
    maxBatch: deps.maxBatch,
    lanes: deps.lanes,
    commit: (items) => persistBatch(deps.database.sql, items),
    onCommitted: (items, replyTo, outcomes, durationMs) => {
      metrics.batchSize.observe(items.length);
      metrics.commitSeconds.observe(durationMs / 1000);
      for (const o of outcomes) {
        const outcome = o.ok ? (o.duplicate ? "duplicate" : "stored") : o.error.code === "CONFLICT" ? "conflict" : "refused";
        metrics.messages.inc({ outcome });
      }
      void publish(items, replyTo, outcomes);
      handOff.committed(outcomes);
    },
  });

  const processor = createPersistProcessor({
    batcher,
    metrics,
    logger: deps.logger,
    answerRefused: (data, items, outcomes) => void publish(items, items.map(() => data.replyTo), outcomes),
  });

  const worker = new Worker("persist", processor, {
    connection: deps.workerRedis,
    prefix: deps.keyspace.queuePrefix,
    concurrency: deps.concurrency,
    metrics: BULLMQ_WORKER_METRICS,
    // Jobs are small and committed in milliseconds; a stalled job (dead worker) is re-run
    // after this, and the idempotent insert makes the re-run harmless.
    lockDuration: 30_000,
    autorun: false,
  });
  worker.on("failed", (job, err) => {
    deps.logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "persist job failed");
  });
  worker.on("error", (err) => deps.logger.warn({ err: err.message }, "persist worker error"));

  // The persist queue's depth and totals for Prometheus (workers scale on it), read at scrape
  // time on the fail-fast connection so a scrape during an outage answers at once.
  const metricsQueue = new Queue("persist", { connection: deps.publishRedis, prefix: deps.keyspace.queuePrefix });
  metricsQueue.on("error", (err) => deps.logger.debug({ err: err.message }, "persist metrics queue error"));
  registerQueueMetrics({ registry: deps.registry, queues: [metricsQueue], logger: deps.logger });

  let stopping: Promise<void> | undefined;
  return {
    worker,
    batcher,
    stop: () =>
      (stopping ??= (async () => {
        // close() waits for the jobs in flight; their commits and fan-out finish first.
        await worker.close();
        await batcher.idle();
        await handOff.close();
        await Promise.allSettled([notifyQueue.close(), metricsQueue.close()]);
      })()),
  };
}
