import type { PersistPartitionKeys } from "@parley/bus";
import type { Logger, Redis } from "@parley/runtime";
import type { EntryHandler } from "../commit/entry-handler.js";
import type { PersisterConfig } from "../env.js";
import { StreamMaintenance } from "../maintenance/stream-maintenance.js";
import type { PersisterMetrics } from "../metrics.js";
import type { AfterCommit } from "../publish/after-commit.js";
import type { DeadLetters } from "../publish/dead-letters.js";
import type { ReadGate } from "./read-gate.js";
import { Reclaimer } from "./reclaimer.js";
import { StreamReader } from "./stream-reader.js";
import { UncommittedMark } from "./uncommitted-mark.js";

/**
 * How often a partition's uncommitted mark is published while it moves: well under how often
 * the gateways read each partition (ADMISSION_SAMPLE_MS, 25 ms, times ⌈N / 2⌉: the gateway's
 * persist-admission.ts), so 10 ms × ⌈N / 2⌉. A late mark only makes the signal older, never
 * younger; with 8 partitions a mark every 10 ms each was a quarter of the test cluster's Redis
 * commands at 300 msgs/s (docs/decisions/0086-persist-partitions.md).
 */
export function uncommittedMarkMs(partitions: number): number {
  return 10 * Math.ceil(Math.max(1, partitions) / 2);
}

export interface PartitionWorkerDeps {
  partition: PersistPartitionKeys;
  /** The reader's own blocking connection (an XREADGROUP BLOCK holds a connection while it waits). */
  readerRedis: Redis;
  /** Reclaims, marks and housekeeping (the fail-fast connection, shared by every partition). */
  publishRedis: Redis;
  config: Pick<PersisterConfig["stream"], "consumer" | "readCount" | "blockMs" | "claimIdleMs" | "maxDeliveries" | "consumerIdleMs">;
  maxInFlightMessages: number;
  /** Messages waiting for held conversation rows, counted apart from those in flight (stream-reader.ts). */
  maxWaitingMessages: number;
  /** How often the uncommitted mark is published while it moves (uncommittedMarkMs). */
  markEveryMs: number;
  gate: ReadGate;
  handle: EntryHandler;
  afterCommit: AfterCommit;
  deadLetters: DeadLetters;
  metrics: PersisterMetrics;
  logger: Logger;
  /** Set for a partition beyond PERSIST_PARTITIONS: its stream deleted, the worker stops (stream-reader.ts). */
  onVanished?: (() => void) | undefined;
}

/**
 * Everything a persister runs for one persist partition: its stream reader, its reclaimer
 * (heartbeats and takeover of a vanished persister's entries), its uncommitted mark (the
 * gateways' admission signal) and its housekeeping (trim, idle consumers). The commits,
 * publishing and dead letters behind them are shared by all partitions (app.ts).
 */
export class PartitionWorker {
  readonly reader: StreamReader;
  private readonly reclaimer: Reclaimer;
  private readonly mark: UncommittedMark;
  readonly maintenance: StreamMaintenance;

  constructor(readonly deps: PartitionWorkerDeps) {
    const { partition, config, logger } = deps;
    this.reader = new StreamReader({
      redis: deps.readerRedis,
      partition,
      consumer: config.consumer,
      readCount: config.readCount,
      blockMs: config.blockMs,
      maxInFlightMessages: deps.maxInFlightMessages,
      maxWaitingMessages: deps.maxWaitingMessages,
      maxDeliveries: config.maxDeliveries,
      claimIdleMs: config.claimIdleMs,
      gate: deps.gate,
      handle: deps.handle,
      deadLetters: deps.deadLetters,
      afterCommit: deps.afterCommit,
      logger,
      onVanished: deps.onVanished,
    });
    this.reclaimer = new Reclaimer({
      redis: deps.publishRedis,
      partition,
      consumer: config.consumer,
      held: this.reader,
      claimIdleMs: config.claimIdleMs,
      maxDeliveries: config.maxDeliveries,
      deadLetters: deps.deadLetters,
      metrics: deps.metrics,
      logger,
    });
    this.mark = new UncommittedMark({ redis: deps.publishRedis, partition, consumer: config.consumer, reader: this.reader, everyMs: deps.markEveryMs, logger });
    this.maintenance = new StreamMaintenance({
      redis: deps.publishRedis,
      partition,
      consumer: config.consumer,
      claimIdleMs: config.claimIdleMs,
      consumerIdleMs: config.consumerIdleMs,
      logger,
    });
  }

  start(): void {
    this.reader.start();
    this.reclaimer.start();
    this.mark.start();
    this.maintenance.start();
  }

  /** No new entries (reading, then reclaiming) and no housekeeping; the entries taken are finished. */
  async stopTaking(): Promise<void> {
    await this.reader.stop();
    await this.reclaimer.stop();
    await this.maintenance.stop();
  }

  /** Last, once everything taken is committed and published: the mark goes (a stopped pod's pending entries count from their start). */
  stopMark(): Promise<void> {
    return this.mark.stop();
  }
}
