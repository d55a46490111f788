import { conversationRoom, RoomEmitter, type Keyspace } from "@parley/bus";
import type { Message } from "@parley/protocol";
import type { Logger, Redis } from "@parley/runtime";

/** Tells members' devices of tombstones a background batch made; never throws. */
export type AnnounceTombstones = (messages: readonly Message[]) => Promise<void>;

/**
 * Tombstones made by retention or an erasure, after their batch's commit, go to their
 * conversations' rooms as `message:updated`, as a deletion does: a client holding them
 * replaces them at once. Pub/sub is at-most-once anyway, so a failure is logged and the job
 * goes on (the rows are committed; a client reads the tombstone on its next page or reload).
 */
export function tombstoneAnnouncer(deps: { publishRedis: Redis; keyspace: Keyspace; logger: Logger }, job: string): AnnounceTombstones {
  const emitter = new RoomEmitter(deps.publishRedis, deps.keyspace.adapterChannelPrefix);
  return async (messages) => {
    try {
      await Promise.all(messages.map((m) => emitter.emitToRooms([conversationRoom(m.conversationId)], "message:updated", m)));
    } catch (err) {
      deps.logger.warn({ err: String(err), messages: messages.length, job }, "announcing tombstones failed; they stay committed");
    }
  };
}
