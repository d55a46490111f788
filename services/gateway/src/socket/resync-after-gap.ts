import { conversationRoom } from "@parley/bus";
import { onConnectionGap, type Logger, type Redis } from "@parley/runtime";
import { Counter, type Registry } from "prom-client";
import type { ParleyServer, ParleySocket } from "./types.js";

export interface ResyncAfterGapDeps {
  io: ParleyServer;
  /** The Socket.IO adapter's subscriber: what this pod hears from the cluster. */
  subscriber: Pick<Redis, "on" | "off" | "isCluster">;
  /** The user's conversation ids, from Postgres (the truth the rooms are checked against). */
  conversationIdsOf: (userId: string) => Promise<string[]>;
  registry: Registry;
  logger: Logger;
}

/** What `session:resync` says when the adapter's subscriber came back. */
export const REDIS_GAP_REASON = "redis-reconnected";

/** Users whose rooms are checked at once: bounds the Postgres work of one round. */
const CONCURRENCY = 8;

/**
 * After a gap in the adapter's Redis subscription, this pod may have missed anything sent to
 * its rooms (`message:new`, receipts…) and the room joins and leaves other pods asked of it
 * (`socketsJoin` / `socketsLeave` on a membership change). When the subscriber is ready again:
 * each local socket's conversation rooms are made those of its memberships in Postgres (joined
 * where missing, left where the user is no longer a member), then it is told
 * `session:resync { reason }`, and the client syncs from its cursors (what it missed is in
 * Postgres). Rooms first, then the event: a message committed after the client's sync reaches
 * it live.
 */
export class ResyncAfterGap {
  private lost = false;
  private running: Promise<void> | undefined;
  private again = false;
  private readonly told: Counter;
  private readonly onClose = () => {
    this.lost = true;
  };
  private readonly onReady = () => {
    if (!this.lost) return;
    this.lost = false;
    void this.run();
  };

  private stopListening: (() => void) | undefined;

  constructor(private readonly deps: ResyncAfterGapDeps) {
    this.told = new Counter({
      name: "parley_gateway_resync_sockets_total",
      help: "Sockets told session:resync after this pod's adapter subscriber reconnected to Redis (their rooms re-checked against Postgres).",
      registers: [deps.registry],
    });
  }

  start(): void {
    // A cluster's gaps are per master (a shard's subscriber lost and back), not the client's close/ready.
    this.stopListening = onConnectionGap(this.deps.subscriber, { lost: this.onClose, back: this.onReady });
  }

  /** Stops listening and waits for a round in flight. */
  async stop(): Promise<void> {
    this.stopListening?.();
    await this.running;
  }

  /** One round over every local socket; a gap during a round runs another after it. */
  run(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    const byUser = new Map<string, ParleySocket[]>();
    for (const socket of this.deps.io.of("/").sockets.values()) {
      const list = byUser.get(socket.data.userId);
      if (list) list.push(socket);
      else byUser.set(socket.data.userId, [socket]);
    }
    const users = [...byUser];
    let told = 0;
    let unchecked = 0;
    for (let i = 0; i < users.length; i += CONCURRENCY) {
      await Promise.all(
        users.slice(i, i + CONCURRENCY).map(async ([userId, sockets]) => {
          let rooms: Set<string> | undefined;
          try {
            rooms = new Set((await this.deps.conversationIdsOf(userId)).map(conversationRoom));
          } catch (err) {
            // Postgres out of reach: the rooms stay as they are (the membership invalidations
            // still move them); the sync is what recovers the messages.
            unchecked++;
            this.deps.logger.debug({ err: String(err) }, "resync: memberships unreadable; rooms left as they are");
          }
          for (const socket of sockets) {
            if (!socket.connected) continue;
            if (rooms) settleRooms(socket, rooms);
            socket.emit("session:resync", { reason: REDIS_GAP_REASON });
            told++;
          }
        }),
      );
    }
    this.told.inc(told);
    this.deps.logger.info({ sockets: told, users: users.length, unchecked }, "adapter subscriber back: sockets told to sync, rooms re-checked");
  }
}

/** Joins the conversation rooms the socket misses and leaves those it no longer belongs to. */
function settleRooms(socket: ParleySocket, rooms: ReadonlySet<string>): void {
  const current = [...socket.rooms].filter((r) => r.startsWith(conversationRoom("")));
  for (const room of current) if (!rooms.has(room)) void socket.leave(room);
  const missing = [...rooms].filter((r) => !socket.rooms.has(r));
  if (missing.length > 0) void socket.join(missing);
}
