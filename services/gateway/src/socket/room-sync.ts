import { conversationRoom, userRoom } from "@parley/bus";
import { membersAmong, type Database } from "@parley/db";
import type { Logger } from "@parley/runtime";
import type { DbGuard } from "../guard-db.js";
import type { ParleyServer, ParleySocket } from "./types.js";

export interface RoomSyncDeps {
  io: ParleyServer;
  database: Database;
  dbGuard: DbGuard;
  logger: Logger;
}

/** Membership changes heard for one user while a handshake of theirs reads their conversations. */
export interface HandshakeWatch {
  /** Conversations whose membership of the user changed since the watch began. */
  readonly heard: ReadonlySet<string>;
  /** Stops recording (safe to call twice). */
  end(): void;
}

/**
 * Keeps this pod's sockets in the rooms of exactly the conversations their users belong to,
 * from every membership change heard on the membership channel (membership-invalidation.ts).
 *
 * The adapter's cluster-wide socketsJoin/socketsLeave (conversation-service.ts) reach only
 * sockets already in their user's room. A handshake reads the user's conversations before its
 * socket joins any room, so a removal committed after that read, whose leave arrived before the
 * join, would be missed and the removed member would hear the conversation until reconnecting.
 * So a handshake watches its user before reading: a change heard meanwhile keeps that
 * conversation out of the first join and has it re-checked in the database (`settle`); a change
 * heard once the socket is in its user's room re-checks that user's sockets here. The change is
 * published after its commit, so a re-check always reads it. Re-checks run one at a time, in the
 * order the changes were heard, so a removal's re-check is never overtaken by an older add's.
 */
export class RoomSync {
  private readonly watches = new Map<string, Set<Set<string>>>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: RoomSyncDeps) {}

  /** Starts recording changes of the user's memberships; call before reading them. */
  watch(userId: string): HandshakeWatch {
    const heard = new Set<string>();
    let watching = this.watches.get(userId);
    if (!watching) this.watches.set(userId, (watching = new Set()));
    watching.add(heard);
    return {
      heard,
      end: () => {
        const current = this.watches.get(userId);
        if (!current?.delete(heard)) return;
        if (current.size === 0) this.watches.delete(userId);
      },
    };
  }

  /** A membership change heard on the channel (this pod's own changes included). */
  changed(conversationId: string, userIds: readonly string[]): void {
    const rooms = this.deps.io.of("/").adapter.rooms;
    const present: string[] = [];
    for (const userId of userIds) {
      for (const heard of this.watches.get(userId) ?? []) heard.add(conversationId);
      if (rooms.has(userRoom(userId))) present.push(userId);
    }
    if (present.length > 0) this.enqueue(() => this.recheck(conversationId, present));
  }

  /**
   * For a socket that just joined its rooms: ends its handshake's watch and re-checks the
   * conversations heard about meanwhile (kept out of the first join by the caller).
   */
  settle(socket: ParleySocket, watch: HandshakeWatch): void {
    watch.end();
    for (const conversationId of watch.heard) this.enqueue(() => this.recheck(conversationId, [socket.data.userId]));
  }

  /** Resolves once every re-check queued so far is done (tests, shutdown). */
  idle(): Promise<void> {
    return this.queue;
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch((err: unknown) => {
      // The adapter's own join/leave still ran; the next change or reconnect re-checks.
      this.deps.logger.warn({ err: String(err) }, "room re-check after a membership change failed");
    });
  }

  private async recheck(conversationId: string, userIds: string[]): Promise<void> {
    const members = new Set(await this.deps.dbGuard.run(() => membersAmong(this.deps.database.sql, conversationId, userIds)));
    const room = conversationRoom(conversationId);
    const joining = userIds.filter((u) => members.has(u)).map(userRoom);
    const leaving = userIds.filter((u) => !members.has(u)).map(userRoom);
    // Local only: every pod re-checks its own sockets.
    if (joining.length > 0) this.deps.io.local.in(joining).socketsJoin(room);
    if (leaving.length > 0) this.deps.io.local.in(leaving).socketsLeave(room);
  }
}
