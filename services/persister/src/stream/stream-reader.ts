import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { compareStreamIds, decodePersistEntry, ensurePersistGroup, type PersistPartitionKeys } from "@parley/bus";
import { onConnectionGap, type Logger } from "@parley/runtime";
import type { EntryHandler } from "../commit/entry-handler.js";
import type { AfterCommit } from "../publish/after-commit.js";
import type { DeadLetters } from "../publish/dead-letters.js";
import { retryDelayMs } from "../retry-delay.js";
import type { HeldEntries } from "./held-entries.js";
import type { ReadGate } from "./read-gate.js";

export interface StreamReaderOptions {
  /** The blocking connection (consumer role: offline queue on, unlimited retries). */
  redis: Redis;
  /** The persist partition this reader reads (one reader per partition). */
  partition: PersistPartitionKeys;
  /** This pod's consumer name: stable across restarts, so a restarted pod re-reads its own pending entries first. */
  consumer: string;
  /** Entries per XREADGROUP. */
  readCount: number;
  /** How long one XREADGROUP waits for new entries (bounds how long a stop waits for the read). */
  blockMs: number;
  /** No read while more messages than this are read and not yet committed (back-pressure). */
  maxInFlightMessages: number;
  /**
   * Messages of entries that wait for a held conversation row (commit-lane.ts) count apart, up
   * to this many: one held conversation does not stop the partition's reading. Past it they
   * count as in flight again, so memory stays bounded however long the row is held.
   */
  maxWaitingMessages: number;
  /** A pod's own pending entry re-read more often than this is dead-lettered (a crash loop). */
  maxDeliveries: number;
  /** PERSIST_CLAIM_IDLE_MS: an entry whose handling failed is reclaimed (by some pod) within about this long. */
  claimIdleMs: number;
  /** Closed by the entry handler while a commit waits out an outage. */
  gate: Pick<ReadGate, "open" | "onRelease">;
  handle: EntryHandler;
  /** Dead-letters (and acks) an entry delivered too often. */
  deadLetters: Pick<DeadLetters, "redelivered">;
  /** Acks an entry whose data is gone (trimmed while pending): nothing is left to store. */
  afterCommit: Pick<AfterCommit, "entryGone">;
  logger: Logger;
  /**
   * A partition beyond PERSIST_PARTITIONS (found in Redis, partition-set.ts): when its stream or
   * group is deleted (an operator retiring a drained partition), the reader stops and calls this
   * instead of creating them again. Unset: the group is always created again (a Redis restarted empty).
   */
  onVanished?: (() => void) | undefined;
}

interface InFlight {
  messages: number;
  /** Some of its messages wait for a conversation row another transaction holds. */
  waitsOnRow: boolean;
  /** When this pod last told Redis it holds the entry (read, claimed or heartbeat). */
  heldSince: number;
}

type StreamReply = [string, [string, string[] | null][]][] | null;

/**
 * The persister's read loop: `XREADGROUP GROUP persisters <consumer> COUNT n BLOCK ms STREAMS
 * <stream> >`, each entry handed to the entry handler, whose commits the CommitBatcher merges
 * (everything read while a transaction runs goes into the next one). On start it first pages
 * through its own pending entries (id `0`): those a previous run of this pod read and did not
 * commit. Reading stops while too much is in flight or the read gate is held; Redis errors
 * are retried with backoff, forever.
 */
export class StreamReader implements HeldEntries {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly work = new Set<Promise<void>>();
  /** Entries whose handling failed (left pending, not committed) → when; see uncommittedFrom. */
  private readonly failed = new Map<string, number>();
  /** The newest entry id this pod took (read or reclaimed). */
  private newestTaken: string | undefined;
  private messagesInFlight = 0;
  /** Messages of the entries that wait for a held row (counted apart, see maxWaitingMessages). */
  private messagesWaiting = 0;
  private stopped = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: StreamReaderOptions) {
    opts.gate.onRelease(() => this.wake?.());
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops reading; resolves when the read in flight returned and every entry taken has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    // A read waiting on a Redis that is away would hang the drain: it is not waited for past
    // its BLOCK time (what it returns after the stop stays pending, re-read on restart).
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, this.opts.blockMs + 500)))]);
    clearTimeout(timer);
    while (this.work.size > 0) await Promise.allSettled([...this.work]);
  }

  dueForHeartbeat(before: number): string[] {
    return [...this.inFlight].filter(([, h]) => h.heldSince <= before).map(([id]) => id);
  }

  heartbeated(ids: readonly string[], at: number): void {
    for (const id of ids) {
      const held = this.inFlight.get(id);
      if (held) held.heldSince = at;
    }
  }

  holds(id: string): boolean {
    return this.inFlight.has(id);
  }

  isStopped(): boolean {
    return this.stopped;
  }

  /**
   * Where this pod's uncommitted entries start, as an XPENDING range start: its oldest entry in
   * flight (or whose handling failed), else just past the newest entry it took. Everything it
   * holds pending below is committed and waits only for its XACK (the notify hand-off), so the
   * gateways' admission signal leaves it out (uncommitted-mark.ts). A failed entry counts until
   * it is taken again or twice PERSIST_CLAIM_IDLE_MS has passed: by then a reclaimer has moved
   * it to a pod whose own mark counts it.
   */
  uncommittedFrom(now = Date.now()): string | undefined {
    let oldest: string | undefined;
    // An entry waiting for a held conversation row is left out: the persist path is not behind,
    // one conversation is held (its senders' acks wait; the others' must not be refused).
    for (const [id, e] of this.inFlight) if (!e.waitsOnRow && (oldest === undefined || compareStreamIds(id, oldest) < 0)) oldest = id;
    for (const [id, at] of this.failed) {
      if (now - at > 2 * this.opts.claimIdleMs) this.failed.delete(id);
      else if (oldest === undefined || compareStreamIds(id, oldest) < 0) oldest = id;
    }
    if (oldest !== undefined) return oldest;
    return this.newestTaken === undefined ? undefined : `(${this.newestTaken}`;
  }

  /** Takes one entry (read, or reclaimed from another consumer) to its end. */
  dispatch(id: string, fields: readonly string[], redelivered: boolean): void {
    if (this.inFlight.has(id)) return;
    const decoded = decodePersistEntry(fields);
    const messages = decoded.ok ? decoded.entry.items.length : 1;
    const entry: InFlight = { messages, heldSince: Date.now(), waitsOnRow: false };
    this.inFlight.set(id, entry);
    this.failed.delete(id);
    if (this.newestTaken === undefined || compareStreamIds(id, this.newestTaken) > 0) this.newestTaken = id;
    this.messagesInFlight += messages;
    const done = this.opts
      .handle(this.opts.partition, id, decoded, fields, redelivered, () => {
        if (entry.waitsOnRow || this.messagesWaiting + messages > this.opts.maxWaitingMessages) return;
        entry.waitsOnRow = true;
        this.messagesInFlight -= messages;
        this.messagesWaiting += messages;
        this.wake?.();
      })
      .catch((err: unknown) => {
        this.failed.set(id, Date.now());
        this.opts.logger.error({ entry: id, partition: this.opts.partition.index, err: String(err) }, "persist entry handling failed; it stays pending");
      })
      .finally(() => {
        this.inFlight.delete(id);
        if (entry.waitsOnRow) this.messagesWaiting -= messages;
        else this.messagesInFlight -= messages;
        this.work.delete(done);
        this.wake?.();
      });
    this.work.add(done);
  }

  private async run(): Promise<void> {
    const { redis, partition } = this.opts;
    let failures = 0;
    let groupReady = false;
    // Own pending entries first ("0", paging by the last id seen), then new ones (">").
    let cursor = "0";
    // A lost connection may have been a failover: the promoted replica can hold entries this pod
    // read, committed and acked whose XACK it never received. They are pending with this
    // consumer and no longer held, so they would only come back through the reclaimer (after
    // PERSIST_CLAIM_IDLE_MS, meanwhile holding the gateways' admission shut): re-read own
    // pending entries first (in-flight ones are skipped by dispatch; a re-commit is idempotent).
    let gap = false;
    const stopWatching = onConnectionGap(redis, { lost: () => (gap = true), back: () => {} });
    while (!this.stopped) {
      await this.room();
      if (this.stopped) break;
      if (gap && cursor === ">") {
        gap = false;
        cursor = "0";
      }
      let reply: StreamReply;
      try {
        if (!groupReady) {
          await ensurePersistGroup(redis, partition);
          groupReady = true;
        }
        reply = (await redis.xreadgroup(
          "GROUP",
          partition.group,
          this.opts.consumer,
          "COUNT",
          this.opts.readCount,
          "BLOCK",
          this.opts.blockMs,
          "STREAMS",
          partition.stream,
          cursor,
        )) as StreamReply;
        failures = 0;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        // The stream or group vanished (Redis restarted empty, or flushed): create them again.
        if (message.includes("NOGROUP")) {
          if (groupReady && this.opts.onVanished) {
            this.opts.logger.info({ partition: partition.index }, "the persist partition was deleted: no longer reading it");
            this.stopped = true;
            this.opts.onVanished();
            break;
          }
          groupReady = false;
          cursor = "0";
        }
        if (failures === 0) this.opts.logger.warn({ err: message, partition: partition.index }, "reading the persist stream failed; retrying");
        await sleep(retryDelayMs(failures++, 100, 2_000));
        continue;
      }
      // Even when a stop came meanwhile: Redis counts these entries as delivered to this pod,
      // so they are committed now (stop() waits for them) rather than left pending until
      // another persister reclaims them.
      const entries = reply?.[0]?.[1] ?? [];
      if (cursor !== ">") {
        if (entries.length === 0) {
          cursor = ">";
          continue;
        }
        cursor = entries[entries.length - 1]![0];
        await this.takeHistory(entries);
        continue;
      }
      for (const [id, fields] of entries) {
        if (fields) this.dispatch(id, fields, false);
      }
    }
    stopWatching();
  }

  /** Own pending entries of an earlier run: each re-read counts as a delivery; a crash loop ends in the dead-letter stream. */
  private async takeHistory(entries: [string, string[] | null][]): Promise<void> {
    const { redis, partition } = this.opts;
    const first = entries[0]![0];
    const last = entries[entries.length - 1]![0];
    const deliveries = new Map<string, number>();
    try {
      const rows = (await redis.xpending(partition.stream, partition.group, first, last, entries.length, this.opts.consumer)) as [
        string,
        string,
        number,
        number,
      ][];
      for (const [id, , , count] of rows) deliveries.set(id, count);
    } catch (err) {
      this.opts.logger.warn({ err: String(err) }, "reading delivery counts failed; the entries are taken anyway");
    }
    for (const [id, fields] of entries) {
      // Re-read after a connection gap (0051): what this pod is still working on stays its own.
      if (this.inFlight.has(id)) continue;
      const count = deliveries.get(id) ?? 0;
      if (!fields) this.opts.afterCommit.entryGone(id, partition);
      else if (count > this.opts.maxDeliveries) this.opts.deadLetters.redelivered(partition, id, fields, count);
      // Read by an earlier run of this pod, which may have died before announcing it.
      else this.dispatch(id, fields, true);
    }
  }

  private mayRead(): boolean {
    return this.stopped || (this.opts.gate.open && this.messagesInFlight < this.opts.maxInFlightMessages);
  }

  private room(): Promise<void> {
    if (this.mayRead()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = () => {
        if (this.mayRead()) {
          this.wake = undefined;
          resolve();
        }
      };
    });
  }
}
