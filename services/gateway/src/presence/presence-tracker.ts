import type { PresenceStore } from "@parley/bus";
import type { Logger, Redis } from "@parley/runtime";
import type { PresenceMetrics } from "./metrics.js";

export interface PresenceTrackerDeps {
  store: PresenceStore;
  /** The connection the store runs on: its `ready` event means "Redis is back". */
  redis: Redis;
  podId: string;
  /** Heartbeat period; the delivery service sweeps pods silent for longer than its TTL. */
  heartbeatMs: number;
  logger: Logger;
  metrics: PresenceMetrics;
}

/**
 * This pod's share of presence: how many sockets each user has here, mirrored into Redis.
 *
 * The local map is the truth. Each connect and disconnect is one script call while the pod
 * is in sync with Redis; after anything that may have made Redis disagree (a failed call, a
 * reconnect, a heartbeat that finds the pod swept), the pod re-registers its whole map in
 * one idempotent script (`resync`) and carries on. Commands on one connection run in the
 * order they were issued, and the snapshot is taken when the resync is issued, so calls made
 * after it land after it: counts never drift.
 */
export class PresenceTracker {
  private readonly local = new Map<string, number>();
  private synced = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly onReady = () => {
    // A new connection: whatever happened while Redis was away, re-register everything.
    this.synced = false;
    this.resync("reconnect");
  };

  constructor(private readonly deps: PresenceTrackerDeps) {}

  start(): void {
    this.deps.redis.on("ready", this.onReady);
    this.resync("start");
    this.timer = setInterval(() => this.beat(), this.deps.heartbeatMs);
    this.timer.unref();
  }

  /** Live sockets of `userId` on this pod. */
  sockets(userId: string): number {
    return this.local.get(userId) ?? 0;
  }

  socketConnected(userId: string): void {
    this.local.set(userId, (this.local.get(userId) ?? 0) + 1);
    if (!this.synced || this.closed) return;
    this.deps.store.connect(this.deps.podId, userId).then(
      (r) => r.podKnown || this.lost("connect found the pod unregistered"),
      (err: unknown) => this.lost("connect failed", err),
    );
  }

  socketDisconnected(userId: string): void {
    const n = (this.local.get(userId) ?? 0) - 1;
    if (n > 0) this.local.set(userId, n);
    else this.local.delete(userId);
    if (!this.synced || this.closed) return;
    this.deps.store.disconnect(this.deps.podId, userId).then(
      (r) => r.podKnown || this.lost("disconnect found the pod unregistered"),
      (err: unknown) => this.lost("disconnect failed", err),
    );
  }

  /** Removes this pod's contribution at once (drain or close): its users stop counting here. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.deps.redis.off("ready", this.onReady);
    try {
      await this.deps.store.release(this.deps.podId);
    } catch (err) {
      // The delivery service sweeps the pod once its heartbeat is older than the TTL.
      this.deps.logger.warn({ err: errorText(err) }, "presence: could not release this pod; it will be swept");
    }
  }

  private lost(reason: string, err?: unknown): void {
    if (this.closed) return;
    if (this.synced) this.deps.logger.warn({ reason, err: err === undefined ? undefined : errorText(err) }, "presence: out of sync with Redis; re-registering");
    this.synced = false;
    // Right away if Redis answers; otherwise the next heartbeat or the reconnect retries.
    if (err === undefined) this.resync("unregistered");
  }

  private beat(): void {
    if (this.closed) return;
    if (!this.synced) return this.resync("retry");
    this.deps.store.heartbeat(this.deps.podId).then(
      (known) => {
        this.deps.metrics.heartbeats.inc({ outcome: known ? "ok" : "unknown" });
        if (!known) this.lost("heartbeat found the pod swept");
      },
      (err: unknown) => {
        this.deps.metrics.heartbeats.inc({ outcome: "error" });
        this.lost("heartbeat failed", err);
      },
    );
  }

  private resync(why: string): void {
    if (this.closed || this.deps.redis.status !== "ready") return;
    // Issued now, with the map as it is now; calls made from here on are ordered after it.
    const done = this.deps.store.resync(this.deps.podId, this.local);
    this.synced = true;
    done.then(
      (changed) => {
        this.deps.metrics.resyncs.inc({ outcome: "ok" });
        if (why !== "start" || changed > 0) this.deps.logger.info({ why, users: this.local.size, changed }, "presence: pod re-registered");
      },
      (err: unknown) => {
        this.deps.metrics.resyncs.inc({ outcome: "error" });
        this.lost("resync failed", err);
      },
    );
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
