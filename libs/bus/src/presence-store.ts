import type { Redis } from "ioredis";
import { z } from "zod";
import type { Keyspace } from "./keyspace.js";
import {
  CONNECT_LUA,
  DISCONNECT_LUA,
  EXPIRED_LUA,
  HEARTBEAT_LUA,
  RELEASE_LUA,
  RESYNC_LUA,
  TAKE_LUA,
} from "./presence-scripts.js";

/** The commands `definePresenceCommands` adds to a connection (ioredis `defineCommand`). */
const COMMANDS = {
  parleyPresenceConnect: { numberOfKeys: 5, lua: CONNECT_LUA },
  parleyPresenceDisconnect: { numberOfKeys: 5, lua: DISCONNECT_LUA },
  parleyPresenceHeartbeat: { numberOfKeys: 1, lua: HEARTBEAT_LUA },
  parleyPresenceResync: { numberOfKeys: 5, lua: RESYNC_LUA },
  parleyPresenceRelease: { numberOfKeys: 5, lua: RELEASE_LUA },
  parleyPresenceExpired: { numberOfKeys: 1, lua: EXPIRED_LUA },
  parleyPresenceTake: { numberOfKeys: 4, lua: TAKE_LUA },
} as const;
type CommandName = keyof typeof COMMANDS;

const CountReply = z.tuple([z.number().int(), z.union([z.literal(0), z.literal(1)])]);
const TakeReply = z.tuple([z.number().int(), z.array(z.string()), z.number().int()]);
const ExpiredReply = z.array(z.string());

export interface PresenceChange {
  userId: string;
  status: "online" | "offline";
  lastSeenAt?: string;
}

export interface PresenceState {
  online: boolean;
  /** When the user's last socket closed (offline users only, when Redis still has it). */
  lastSeenAt?: string;
}

/**
 * Presence bookkeeping in Redis, shared by the gateways (socket counts, heartbeats) and the
 * delivery service (sweeps, announcements). Each method is one round trip: one Lua script
 * (presence-scripts.ts) or one pipeline of reads.
 */
export class PresenceStore {
  private readonly keys: Keyspace["presence"];

  constructor(
    private readonly redis: Redis,
    keyspace: Keyspace,
  ) {
    this.keys = keyspace.presence;
    for (const [name, definition] of Object.entries(COMMANDS)) {
      // Once per connection object; ioredis sends EVALSHA and falls back to EVAL by itself.
      if (!(name in redis)) redis.defineCommand(name, definition);
    }
  }

  private run(name: CommandName, keys: string[], args: (string | number)[]): Promise<unknown> {
    const command = (this.redis as unknown as Record<CommandName, (...a: (string | number)[]) => Promise<unknown>>)[name];
    return command.call(this.redis, ...keys, ...args);
  }

  private podKeys(podId: string): string[] {
    const k = this.keys;
    return [k.pods, k.podCounts(podId), k.counts, k.dirty, k.lastSeen];
  }

  /** One more socket of `userId` on `podId`. `podKnown: false` means the pod must resync. */
  async connect(podId: string, userId: string): Promise<{ count: number; podKnown: boolean }> {
    const [count, known] = CountReply.parse(await this.run("parleyPresenceConnect", this.podKeys(podId), [podId, userId]));
    return { count, podKnown: known === 1 };
  }

  /** One socket fewer. `count` is -1 when the pod held nothing of this user (it was swept). */
  async disconnect(podId: string, userId: string): Promise<{ count: number; podKnown: boolean }> {
    const [count, known] = CountReply.parse(await this.run("parleyPresenceDisconnect", this.podKeys(podId), [podId, userId]));
    return { count, podKnown: known === 1 };
  }

  /** False when the pod is not registered (swept): it must resync. */
  async heartbeat(podId: string): Promise<boolean> {
    return (await this.run("parleyPresenceHeartbeat", [this.keys.pods], [podId])) === 1;
  }

  /** Makes the pod's contribution exactly `sockets` (userId → live sockets); idempotent. */
  async resync(podId: string, sockets: ReadonlyMap<string, number>): Promise<number> {
    const args: (string | number)[] = [podId];
    for (const [userId, n] of sockets) if (n > 0) args.push(userId, n);
    return Number(await this.run("parleyPresenceResync", this.podKeys(podId), args));
  }

  /** A pod leaving: its users' sockets stop counting at once. */
  async release(podId: string): Promise<number> {
    return Number(await this.run("parleyPresenceRelease", this.podKeys(podId), [podId, ""]));
  }

  /** Pods whose heartbeat is older than `ttlMs`, with their last heartbeat (ms since the epoch). */
  async expiredPods(ttlMs: number, limit = 100): Promise<{ podId: string; lastBeatMs: number }[]> {
    const flat = ExpiredReply.parse(await this.run("parleyPresenceExpired", [this.keys.pods], [ttlMs, limit]));
    const pods: { podId: string; lastBeatMs: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) pods.push({ podId: flat[i]!, lastBeatMs: Number(flat[i + 1]) });
    return pods;
  }

  /**
   * Releases a dead pod if it is still expired when the script runs (another replica may have
   * swept it, or it may have heartbeated since). Its users' lastSeen is its last heartbeat.
   * Returns the users released, or -1.
   */
  async sweep(podId: string, ttlMs: number): Promise<number> {
    return Number(await this.run("parleyPresenceRelease", this.podKeys(podId), [podId, ttlMs]));
  }

  /**
   * Takes up to `max` dirty users and returns those whose announced status changes. Users who
   * went offline less than `offlineGraceMs` ago (by Redis' clock) stay dirty for a later take
   * (`deferred`).
   */
  async take(max: number, offlineGraceMs = 0): Promise<{ changes: PresenceChange[]; unchanged: number; deferred: number; taken: number }> {
    const k = this.keys;
    const [unchanged, flat, deferred] = TakeReply.parse(
      await this.run("parleyPresenceTake", [k.dirty, k.counts, k.announced, k.lastSeen], [max, offlineGraceMs]),
    );
    const changes: PresenceChange[] = [];
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const status = flat[i + 1] === "online" ? "online" : "offline";
      const lastSeenAt = flat[i + 2];
      changes.push({ userId: flat[i]!, status, ...(status === "offline" && lastSeenAt ? { lastSeenAt } : {}) });
    }
    return { changes, unchanged, deferred, taken: unchanged + changes.length + deferred };
  }

  /** The user's live sockets in the whole cluster (the gateways' cap on sockets per user reads it in the handshake). */
  async sockets(userId: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.counts, userId)) ?? 0);
  }

  /** Current status of each user (one round trip: two HMGETs in a pipeline). */
  async read(userIds: readonly string[]): Promise<Map<string, PresenceState>> {
    const out = new Map<string, PresenceState>();
    if (userIds.length === 0) return out;
    const results = await this.redis
      .pipeline()
      .hmget(this.keys.counts, ...userIds)
      .hmget(this.keys.lastSeen, ...userIds)
      .exec();
    const [countsReply, seenReply] = results ?? [];
    if (!countsReply || !seenReply || countsReply[0] || seenReply[0]) throw countsReply?.[0] ?? seenReply?.[0] ?? new Error("presence read failed");
    const counts = countsReply[1] as (string | null)[];
    const seen = seenReply[1] as (string | null)[];
    userIds.forEach((userId, i) => {
      const online = Number(counts[i] ?? 0) > 0;
      const lastSeenAt = seen[i];
      out.set(userId, online || !lastSeenAt ? { online } : { online, lastSeenAt });
    });
    return out;
  }
}
