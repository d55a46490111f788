import type { Worker } from "bullmq";
import type { Keyspace } from "@parley/bus";
import type { Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import type { DeliveryMetrics } from "./metrics.js";

/**
 * One concern of the delivery service (receipts, notifications, presence, …). The app starts every
 * module, and on SIGTERM stops them all: a module stops taking work and finishes what it holds.
 */
export interface DeliveryModule {
  readonly name: string;
  start(): void;
  stop(): Promise<void>;
}

/** What every module is built from. */
export interface DeliveryContext {
  database: Database;
  /** BullMQ's connection for workers (consumer role: offline queue, unlimited retries). */
  workerRedis: Redis;
  /** Fail-fast connection: queue adds, room emits, presence reads. */
  publishRedis: Redis;
  registry: Registry;
  metrics: DeliveryMetrics;
  logger: Logger;
  keyspace: Keyspace;
}

/** A module made of BullMQ workers: started with `run()`, stopped with `close()`, which waits for jobs in flight. */
export function workersModule(name: string, workers: Worker[], after: () => Promise<void> = async () => {}): DeliveryModule {
  let stopping: Promise<void> | undefined;
  return {
    name,
    start: () => {
      for (const w of workers) void w.run();
    },
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all(workers.map((w) => w.close()));
        await after();
      })()),
  };
}
