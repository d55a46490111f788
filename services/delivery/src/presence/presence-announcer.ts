import { conversationRoom, userRoom, type PresenceChange, type PresenceStore, type RoomEmitter } from "@parley/bus";
import { blockPartnersOfUsers, conversationIdsOfUsers, recordLastSeen, type Database } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { DeliveryConfig } from "../env.js";
import type { AnnouncerMetrics } from "./metrics.js";

/** PRESENCE_TTL_MS, PRESENCE_FLUSH_MS and PRESENCE_OFFLINE_GRACE_MS (env.ts says what each does). */
export type PresenceAnnouncerConfig = DeliveryConfig["presence"];

export interface PresenceAnnouncerDeps {
  store: Pick<PresenceStore, "expiredPods" | "sweep" | "take">;
  emitter: Pick<RoomEmitter, "emitToRooms">;
  database: Database;
  logger: Logger;
  metrics: AnnouncerMetrics;
  config: PresenceAnnouncerConfig;
}

/**
 * The delivery service's half of presence. Every `flushMs`:
 *
 * 1. **Sweep**: gateway pods whose heartbeat is older than the TTL are released (their
 *    counts subtracted, their users marked dirty) in one script per pod, which re-checks
 *    the heartbeat, so a pod is swept once however many replicas look.
 * 2. **Flush**: dirty users are taken (SPOP inside a script that also decides and records
 *    what to announce, so replicas never announce one change twice); each change becomes
 *    one `presence` broadcast to the user's conversation rooms, except the user's own
 *    devices; offline times are stored in `users.last_seen_at`.
 *
 * A user who went offline and came back within one window is taken once, found unchanged,
 * and announces nothing: a rollout or a flaky network does not become a storm.
 */
export class PresenceAnnouncer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Changes taken but not yet published (Postgres or Redis failed): retried first. */
  private pending: PresenceChange[] = [];
  private pendingAttempts = 0;

  constructor(private readonly deps: PresenceAnnouncerDeps) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Stops ticking and waits for a tick in progress. Safe to call twice. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One sweep and one flush (what each tick does); exposed for tests and tools. */
  async tick(): Promise<void> {
    await this.sweep();
    await this.flush();
  }

  async sweep(): Promise<number> {
    const { store, config, metrics, logger } = this.deps;
    try {
      let swept = 0;
      for (const pod of await store.expiredPods(config.ttlMs)) {
        const users = await store.sweep(pod.podId, config.ttlMs);
        if (users < 0) continue;
        swept++;
        metrics.sweptPods.inc();
        logger.warn({ pod: pod.podId, users, silentMs: Date.now() - pod.lastBeatMs }, "presence: swept a gateway pod whose heartbeat stopped");
      }
      metrics.sweeps.inc({ outcome: "ok" });
      return swept;
    } catch (err) {
      metrics.sweeps.inc({ outcome: "error" });
      logger.warn({ err: errorText(err) }, "presence: sweep failed; retrying next tick");
      return 0;
    }
  }

  /** Announces every change waiting; returns how many presence events were published. */
  async flush(): Promise<number> {
    const { store, metrics, logger } = this.deps;
    const end = metrics.flushSeconds.startTimer();
    let published = 0;
    try {
      if (this.pending.length > 0) {
        if (++this.pendingAttempts > MAX_ATTEMPTS) {
          // Not an outage any more but something these changes trip over: let them go, so
          // presence keeps moving. Their users' next change, or a presence:query, corrects clients.
          logger.error({ users: this.pending.length }, "presence: giving up on announcing changes after repeated failures");
          this.pending = [];
        } else {
          published += await this.announce(this.pending);
          this.pending = [];
        }
      }
      this.pendingAttempts = 0;
      // Bounded: a backlog bigger than this is finished by the next ticks.
      for (let round = 0; round < 20; round++) {
        const grace = this.deps.config.offlineGraceMs;
        const taken = await store.take(TAKE_BATCH, grace);
        metrics.coalesced.inc(taken.unchanged);
        metrics.deferred.inc(taken.deferred);
        if (taken.changes.length > 0) {
          this.pending = taken.changes;
          this.pendingAttempts = 1;
          published += await this.announce(taken.changes);
          this.pending = [];
          this.pendingAttempts = 0;
        }
        // Deferred users went back into the set: more rounds would only take them again.
        if (taken.taken < TAKE_BATCH || taken.deferred > 0) break;
      }
    } catch (err) {
      metrics.flushErrors.inc();
      logger.warn({ err: errorText(err), pending: this.pending.length }, "presence: flush failed; retrying next tick");
    } finally {
      end();
    }
    return published;
  }

  private async announce(changes: readonly PresenceChange[]): Promise<number> {
    const { database, emitter, metrics } = this.deps;
    const userIds = changes.map((c) => c.userId);
    const [conversations, partners] = await Promise.all([conversationIdsOfUsers(database.sql, userIds), blockPartnersOfUsers(database.sql, userIds)]);
    const publishes: Promise<unknown>[] = [];
    for (const change of changes) {
      const ids = conversations.get(change.userId);
      if (!ids) continue; // in no conversation: nobody may see them
      // Neither side of a block sees the other's presence (protocol.md, "Safety").
      const hidden = (partners.get(change.userId) ?? []).map(userRoom);
      publishes.push(emitter.emitToRooms(ids.map(conversationRoom), "presence", change, [userRoom(change.userId), ...hidden]));
    }
    await Promise.all(publishes);
    for (const change of changes) if (conversations.has(change.userId)) metrics.events.inc({ status: change.status });
    // Published: from here on nothing may send the batch back for a retry, or clients would
    // hear it again and newer changes would wait behind it. Redis already holds lastSeen for
    // presence:query; the column only keeps it past a Redis restart, so a failed write is
    // logged and left for the user's next change.
    const seen = changes.flatMap((c) => (c.status === "offline" && c.lastSeenAt ? [{ userId: c.userId, lastSeenAt: c.lastSeenAt }] : []));
    await recordLastSeen(database.sql, seen).catch((err: unknown) => {
      metrics.lastSeenWriteErrors.inc();
      this.deps.logger.warn({ err: errorText(err), users: seen.length }, "presence: could not keep lastSeenAt in Postgres (Redis has it)");
    });
    return publishes.length;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.deps.config.flushMs);
  }
}

/** Users taken per script call. */
const TAKE_BATCH = 1_000;

/** Ticks a taken batch is retried on (an outage of a minute, at the default window) before it is dropped. */
const MAX_ATTEMPTS = 60;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
