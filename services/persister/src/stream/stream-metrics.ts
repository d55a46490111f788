import type { Redis } from "ioredis";
import { Gauge, type Registry } from "prom-client";
import { streamIdMs, type Keyspace } from "@parley/bus";
import type { Logger } from "@parley/runtime";
import { readStreamState, type StreamState } from "./stream-state.js";

/**
 * The persist stream's backlog for Prometheus (persisters scale on it), read at scrape time on
 * the fail-fast connection and bounded by SCRAPE_TIMEOUT_MS: when Redis is away the three gauges are
 * left out of that scrape (`parley_up{dependency="redis"}` says why), like the BullMQ queue
 * metrics (libs/runtime queue-metrics.ts). Every persister pod exports the same values.
 */
/** Longer than a healthy Redis ever takes for two commands, well inside Prometheus's scrape timeout. */
const SCRAPE_TIMEOUT_MS = 1_000;

export function registerStreamMetrics(opts: { registry: Registry; redis: Redis; keyspace: Keyspace; logger: Logger }): void {
  let inFlight: Promise<StreamState | undefined> | undefined;
  const read = async (): Promise<StreamState | undefined> => {
    let timer: NodeJS.Timeout | undefined;
    const reads = readStreamState(opts.redis, opts.keyspace);
    try {
      return await Promise.race([reads, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SCRAPE_TIMEOUT_MS)))]);
    } catch (err) {
      opts.logger.debug({ err: String(err) }, "persist stream metrics unreadable; left out of this scrape");
      return undefined;
    } finally {
      clearTimeout(timer);
      reads.catch(() => {});
    }
  };
  // The gauges' collect() calls of one scrape run side by side: they share one read.
  const snapshot = () =>
    (inFlight ??= read().finally(() => {
      inFlight = undefined;
    }));
  const gauge = (name: string, help: string, pick: (s: StreamState) => number | null) =>
    new ScrapedGauge({ name, help, registers: [opts.registry] }, async () => {
      const s = await snapshot();
      return s ? pick(s) : null;
    });
  gauge("parley_persist_stream_lag", "Entries added to the persist stream and not yet read by any persister (the backlog; persisters scale on it).", (s) => s.lag);
  gauge("parley_persist_stream_pending", "Persist stream entries read by a persister and not yet committed (the consumer group's pending entries list).", (s) => s.pending);
  gauge("parley_persist_stream_oldest_pending_seconds", "Age of the oldest pending persist stream entry (since it was added), 0 when none.", (s) =>
    s.oldestPendingId ? Math.max(0, Date.now() - streamIdMs(s.oldestPendingId)) / 1000 : 0,
  );
}

/**
 * A gauge read at scrape time that is left out of the scrape (no sample) when it cannot be
 * read: prom-client's own unlabelled gauges always export a value, and a 0 would read as
 * "no backlog" during a Redis outage.
 */
class ScrapedGauge extends Gauge {
  constructor(
    config: { name: string; help: string; registers: Registry[] },
    private readonly readValue: () => Promise<number | null>,
  ) {
    super(config);
  }

  override async get() {
    const value = await this.readValue();
    if (value === null) return { ...(await super.get()), values: [] };
    this.set(value);
    return super.get();
  }
}
