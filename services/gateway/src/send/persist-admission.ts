import { ParleyError } from "@parley/protocol";
import type { PersistBacklog } from "@parley/bus";
import type { Logger } from "@parley/runtime";
import type { GatewayMetrics } from "../metrics.js";

export interface PersistAdmissionOptions {
  /** Sends are refused while the oldest uncommitted entry is older than this (ms). */
  maxDelayMs: number;
  /** Sends are refused while the persist streams, all partitions together, take more than this in Redis (bytes). */
  maxStreamBytes: number;
  /** PERSIST_PARTITIONS: each partition's backlog is read and judged on its own. */
  partitions: number;
  /** How often the backlog is read from Redis, for every send of the pod. */
  sampleMs: number;
}

export interface PersistAdmissionDeps {
  /** One read of a partition's backlog (libs/bus `readPersistBacklog`). */
  read: (partition: number) => Promise<PersistBacklog>;
  metrics: Pick<GatewayMetrics, "admissionRefused" | "persistDelaySeconds" | "persistStreamBytes">;
  logger: Logger;
  /** Jitter for retryAfterMs (tests pass a fixed one). */
  random?: () => number;
}

/**
 * Partitions read per sample: with more partitions, each is read in turn every
 * `sampleMs × ⌈N / 2⌉` (100 ms for a cluster's 8 at the default 25 ms), so a gateway's reads stay
 * what two partitions cost. Each read is a script of about ten Redis calls; every partition on
 * every tick cost the test cluster 640 scripts a second from two idle gateways, the largest
 * share of its Redis commands at 300 msgs/s (docs/decisions/0086-persist-partitions.md).
 */
const PARTITIONS_PER_SAMPLE = 2;

/** A refusal never asks for a wait longer than this: the sample after it may have cleared. */
const MAX_RETRY_AFTER_MS = 10_000;
/** A refusal for the stream's size asks for at least this: Redis memory comes back once a second (the persister's trim). */
const BYTES_RETRY_AFTER_MS = 1_000;

/**
 * Admission control for sends: while the persist path lags past its budget, new sends are
 * refused before they are queued (`UNAVAILABLE` with `retryAfterMs`; nothing stored), so the
 * sends that are taken still commit in time and goodput stays at the maximum rather than
 * collapsing into time-outs whose messages commit later. The backlog is read from Redis every
 * `sampleMs` by one timer shared by all the pod's sends: `check()` costs no Redis call. Each
 * persist partition is judged on its own delay (a partition whose Redis shard or persister
 * lags refuses only its own conversations' sends); the size budget is for all of them together
 * (they share Redis' memory).
 * Why this signal and these budgets: docs/decisions/0020-admission-on-oldest-uncommitted-entry.md.
 *
 * When the backlog cannot be read (Redis away), the last sample is forgotten after a few
 * periods and sends are admitted: the append itself then fails fast with UNAVAILABLE.
 */
export class PersistAdmission {
  /** The last read of each partition, with when it was taken. */
  private readonly samples: ((PersistBacklog & { at: number }) | undefined)[] = [];
  /** The next partition to read in turn. */
  private nextPartition = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readFailing = false;

  constructor(
    private readonly opts: PersistAdmissionOptions,
    private readonly deps: PersistAdmissionDeps,
  ) {}

  /** Reads every partition now (so the first sends are judged), then in turn every `sampleMs`. */
  async start(): Promise<void> {
    await this.tick(true);
  }

  /** Throws `UNAVAILABLE` with `retryAfterMs` when a new send to `partition` must not be queued now. */
  check(partition = 0): void {
    const now = performance.now();
    const s = this.fresh(partition, now);
    const bytes = this.samples.reduce((sum, x, k) => sum + (this.fresh(k, now) ? x!.bytes : 0), 0);
    if (!s && bytes === 0) return;
    const ageMs = s?.ageMs ?? 0;
    if (bytes > this.opts.maxStreamBytes) {
      this.deps.metrics.admissionRefused.inc({ reason: "stream_bytes" });
      throw new ParleyError("UNAVAILABLE", "the cluster is holding too many unsaved messages; retry later", this.retryAfter(Math.max(BYTES_RETRY_AFTER_MS, ageMs - this.opts.maxDelayMs)));
    }
    if (ageMs > this.opts.maxDelayMs) {
      this.deps.metrics.admissionRefused.inc({ reason: "persist_delay" });
      throw new ParleyError("UNAVAILABLE", "the cluster is saving messages more slowly than they arrive; retry later", this.retryAfter(ageMs - this.opts.maxDelayMs));
    }
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private get partitions(): number {
    return Math.max(1, this.opts.partitions);
  }

  /** How often each partition is read. */
  private get periodMs(): number {
    return this.opts.sampleMs * Math.ceil(this.partitions / PARTITIONS_PER_SAMPLE);
  }

  /** A partition's last sample, unless it is too old to say anything (three missed reads). */
  private fresh(partition: number, now: number) {
    const s = this.samples[partition];
    if (!s || now - s.at > 3 * this.periodMs + 1_000) return undefined;
    return s;
  }

  /**
   * At least one sample period (the next look), plus what the backlog is over its budget (it
   * drains about as fast as real time once nothing is added), with up to 50 % jitter so the
   * refused clients do not all come back in the same instant.
   */
  private retryAfter(overMs: number): number {
    const base = Math.max(this.opts.sampleMs, overMs);
    return Math.min(MAX_RETRY_AFTER_MS, Math.round(base * (1 + 0.5 * (this.deps.random ?? Math.random)())));
  }

  private async tick(all = false): Promise<void> {
    const n = this.partitions;
    const count = all ? n : Math.min(n, PARTITIONS_PER_SAMPLE);
    const partitions = Array.from({ length: count }, (_, i) => (this.nextPartition + i) % n);
    this.nextPartition = (this.nextPartition + count) % n;
    try {
      const backlogs = await Promise.all(partitions.map((k) => this.deps.read(k)));
      const at = performance.now();
      backlogs.forEach((b, i) => (this.samples[partitions[i]!] = { ...b, at }));
      // The pod's gauges: the worst partition's delay (which one: the persisters' per-partition gauges).
      const known = this.samples.filter((x) => x !== undefined);
      this.deps.metrics.persistDelaySeconds.set(Math.max(0, ...known.map((x) => x.ageMs)) / 1000);
      this.deps.metrics.persistStreamBytes.set(known.reduce((sum, x) => sum + x.bytes, 0));
      if (this.readFailing) this.deps.logger.info("persist backlog readable again");
      this.readFailing = false;
    } catch (err) {
      if (!this.readFailing) this.deps.logger.warn({ err: String(err) }, "reading the persist backlog failed; admitting sends on the last sample until it is stale");
      this.readFailing = true;
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.opts.sampleMs);
      this.timer.unref();
    }
  }
}
