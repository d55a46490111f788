import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";

/** What the collector reads of a BullMQ `Queue` (structural, so this library needs no bullmq). */
export interface MeteredQueue {
  readonly name: string;
  getJobCounts(): Promise<Record<string, number>>;
  getMetrics(type: "completed" | "failed", start?: number, end?: number): Promise<{ meta: { count: number } }>;
}

/**
 * The Worker option that makes BullMQ count finished jobs (`bullmq_job_completed_total`,
 * `bullmq_job_failed_total` read those counts). The counts cost one HINCRBY in the script that
 * finishes a job; the per-minute history beside them is capped at an hour, which nothing reads.
 */
export const BULLMQ_WORKER_METRICS = { maxDataPoints: 60 } as const;

interface QueueSnapshot {
  queue: string;
  counts: Record<string, number>;
  completed: number;
  failed: number;
}

/**
 * BullMQ's own queue metrics, under the names and labels of `Queue.exportPrometheusMetrics()`
 * (`bullmq_job_count{queue,state}`, `bullmq_job_completed_total{queue}`,
 * `bullmq_job_failed_total{queue}`), read from Redis at scrape time. That export cannot be
 * used as is for several queues (its HELP and TYPE lines repeat per queue), so the same
 * getters feed prom-client metrics here.
 *
 * A scrape never hangs or fails because of Redis: each queue's reads are bounded by
 * `timeoutMs`, and a queue whose reads fail or time out is left out of that scrape
 * (`parley_up{dependency="redis"}` says why) while every other series is still exported.
 */
export function registerQueueMetrics(opts: { registry: Registry; queues: readonly MeteredQueue[]; timeoutMs?: number; logger?: Logger }): void {
  const timeoutMs = opts.timeoutMs ?? 1_000;

  const read = async (queue: MeteredQueue): Promise<QueueSnapshot | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    const reads = Promise.all([queue.getJobCounts(), queue.getMetrics("completed", 0, 0), queue.getMetrics("failed", 0, 0)]).then(
      ([counts, completed, failed]): QueueSnapshot => ({ queue: queue.name, counts, completed: completed.meta.count, failed: failed.meta.count }),
    );
    try {
      const snapshot = await Promise.race([reads, timedOut]);
      if (!snapshot) opts.logger?.debug({ queue: queue.name, timeoutMs }, "queue metrics timed out; left out of this scrape");
      return snapshot;
    } catch (err) {
      opts.logger?.debug({ queue: queue.name, err: err instanceof Error ? err.message : String(err) }, "queue metrics unreadable; left out of this scrape");
      return undefined;
    } finally {
      clearTimeout(timer);
      // A read that lost the race may still reject later: it must not become unhandled.
      reads.catch(() => {});
    }
  };

  // The three metrics' collect() calls of one scrape start together (prom-client awaits them
  // side by side): they share one round of reads.
  let inFlight: Promise<QueueSnapshot[]> | undefined;
  const snapshot = () =>
    (inFlight ??= Promise.all(opts.queues.map(read))
      .then((all) => all.filter((s): s is QueueSnapshot => s !== undefined))
      .finally(() => {
        inFlight = undefined;
      }));

  new Gauge({
    name: "bullmq_job_count",
    help: "Number of jobs in the queue by state",
    labelNames: ["queue", "state"] as const,
    registers: [opts.registry],
    async collect() {
      const snapshots = await snapshot();
      this.reset();
      for (const s of snapshots) for (const [state, count] of Object.entries(s.counts)) this.set({ queue: s.queue, state }, count);
    },
  });
  // Totals kept by BullMQ in Redis for the whole queue (every replica's workers add to them):
  // each scrape sets the counter to the stored count.
  const total = (name: string, help: string, pick: (s: QueueSnapshot) => number) =>
    new Counter({
      name,
      help,
      labelNames: ["queue"] as const,
      registers: [opts.registry],
      async collect() {
        const snapshots = await snapshot();
        this.reset();
        for (const s of snapshots) this.inc({ queue: s.queue }, pick(s));
      },
    });
  total("bullmq_job_completed_total", "Total number of completed jobs", (s) => s.completed);
  total("bullmq_job_failed_total", "Total number of failed jobs", (s) => s.failed);
}
