import type { Redis } from "ioredis";
import { Gauge, type Registry } from "prom-client";
import { streamIdMs, type PersistPartitionKeys } from "@parley/bus";
import type { Logger } from "@parley/runtime";
import { readStreamState, type StreamState } from "./stream-state.js";

/**
 * The persist streams' backlog for Prometheus (persisters scale on it), one series per
 * partition (`partition`, at most MAX_PERSIST_PARTITIONS values), read at scrape time on the
 * fail-fast connection and bounded by SCRAPE_TIMEOUT_MS: a partition whose Redis is away is left
 * out of that scrape (`parley_up{dependency="redis"}` says why), like the BullMQ queue metrics
 * (libs/runtime queue-metrics.ts). Every persister pod exports the same values for the
 * partitions it reads: sum over `partition` of the max over pods is the whole backlog.
 */
/** Longer than a healthy Redis ever takes for two commands, well inside Prometheus's scrape timeout. */
const SCRAPE_TIMEOUT_MS = 1_000;

type Snapshot = { partition: PersistPartitionKeys; state: StreamState }[];

export function registerStreamMetrics(opts: { registry: Registry; redis: Redis; partitions: () => readonly PersistPartitionKeys[]; logger: Logger }): void {
  const readOne = async (partition: PersistPartitionKeys): Promise<StreamState | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const reads = readStreamState(opts.redis, partition);
    try {
      return await Promise.race([reads, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SCRAPE_TIMEOUT_MS)))]);
    } catch (err) {
      opts.logger.debug({ err: String(err), partition: partition.index }, "persist stream metrics unreadable; left out of this scrape");
      return undefined;
    } finally {
      clearTimeout(timer);
      reads.catch(() => {});
    }
  };
  let inFlight: Promise<Snapshot> | undefined;
  // The gauges' collect() calls of one scrape run side by side: they share one read.
  const snapshot = () =>
    (inFlight ??= Promise.all(opts.partitions().map(async (partition) => ({ partition, state: await readOne(partition) })))
      .then((rows) => rows.flatMap((r) => (r.state ? [{ partition: r.partition, state: r.state }] : [])))
      .finally(() => {
        inFlight = undefined;
      }));
  const gauge = (name: string, help: string, pick: (s: StreamState) => number | null) =>
    new ScrapedGauge({ name, help, labelNames: ["partition"], registers: [opts.registry] }, async () =>
      (await snapshot()).flatMap(({ partition, state }) => {
        const value = pick(state);
        return value === null ? [] : [{ partition: String(partition.index), value }];
      }),
    );
  gauge("parley_persist_stream_lag", "Entries added to a persist stream partition and not yet read by any persister (the backlog; persisters scale on it).", (s) => s.lag);
  gauge("parley_persist_stream_pending", "Persist stream entries of a partition read by a persister and not yet committed (the consumer group's pending entries list).", (s) => s.pending);
  gauge("parley_persist_stream_oldest_pending_seconds", "Age of a partition's oldest pending persist stream entry (since it was added), 0 when none.", (s) =>
    s.oldestPendingId ? Math.max(0, Date.now() - streamIdMs(s.oldestPendingId)) / 1000 : 0,
  );
}

/**
 * A gauge read at scrape time whose unreadable partitions are left out of the scrape (no
 * sample): a 0 would read as "no backlog" during a Redis outage.
 */
class ScrapedGauge extends Gauge<"partition"> {
  constructor(
    config: { name: string; help: string; labelNames: ["partition"]; registers: Registry[] },
    private readonly readValues: () => Promise<{ partition: string; value: number }[]>,
  ) {
    super(config);
  }

  override async get() {
    const values = await this.readValues();
    this.reset();
    for (const { partition, value } of values) this.set({ partition }, value);
    return super.get();
  }
}
