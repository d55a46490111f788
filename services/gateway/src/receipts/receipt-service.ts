import { conversationRoom, userRoom } from "@parley/bus";
import { markRead, RECEIPT_AUDIENCE_MAX_MESSAGES, type Database } from "@parley/db";
import { ParleyError } from "@parley/protocol";
import type { Logger } from "@parley/runtime";
import type { ConversationService } from "../conversations/conversation-service.js";
import type { DbGuard } from "../guard-db.js";
import type { ParleyServer } from "../socket/types.js";
import type { DeliveredBuffer } from "./delivered-buffer.js";

export interface ReceiptServiceDeps {
  database: Database;
  conversations: ConversationService;
  buffer: DeliveredBuffer;
  io: ParleyServer;
  logger: Logger;
  dbGuard: DbGuard;
  /** Above this many members, read receipts go only to the senders of the messages read (RECEIPT_ROOM_MAX_MEMBERS). */
  roomMaxMembers: number;
  /** Counts receipts sent only to senders (a big conversation's). */
  onNarrowed: (receipts: number) => void;
}

/**
 * Delivered and read watermarks, for sockets and HTTP alike.
 *
 * - `delivered` is answered once the watermark is in Redis: the delivery service applies it in
 *   a batch and sends the receipt if it moved (these are many; a round trip to Postgres each
 *   would cost more than the messages themselves).
 * - `read` is answered from Postgres (the ack carries the new unread count): a `receipt` goes
 *   to the conversation's members when a watermark moved, and `unread` to the reader's other
 *   devices (all of them for HTTP, which has no device of its own). In a conversation above
 *   `roomMaxMembers` members, the receipts go only to the senders of the messages the reader
 *   passed over (docs/decisions/0035-receipts-in-big-rooms.md).
 */
export class ReceiptService {
  constructor(private readonly deps: ReceiptServiceDeps) {}

  async delivered(userId: string, conversationId: string, seq: number): Promise<Record<string, never>> {
    await this.deps.conversations.requireRole(conversationId, userId);
    try {
      await this.deps.buffer.push({ conversationId, userId, seq });
    } catch (err) {
      this.deps.logger.warn({ err: String(err) }, "delivered watermark could not be enqueued");
      throw new ParleyError("UNAVAILABLE", "the queue is out of reach; retry later");
    }
    return {};
  }

  async read(userId: string, conversationId: string, seq: number, exceptSocketId?: string): Promise<{ lastReadSeq: number; unreadCount: number }> {
    await this.deps.conversations.requireRole(conversationId, userId);
    const audience = { aboveMembers: this.deps.roomMaxMembers, maxMessages: RECEIPT_AUDIENCE_MAX_MESSAGES };
    const state = await this.deps.dbGuard.run(() => markRead(this.deps.database.sql, conversationId, userId, seq, audience));
    if (!state) throw new ParleyError("FORBIDDEN", "not a member of this conversation");
    const { lastReadSeq, unreadCount } = state;
    if (state.readMoved) {
      const at = new Date().toISOString();
      // One broadcast per room: a single room keeps its interest-routed channel (a list of
      // rooms would go to every pod).
      const rooms = state.audience ? state.audience.map(userRoom) : [conversationRoom(conversationId)];
      if (state.audience) this.deps.onNarrowed(state.deliveredMoved ? 2 : 1);
      for (const to of rooms) {
        const room = this.deps.io.to(to);
        // Reading implies delivery: members learn both watermarks, delivered first.
        if (state.deliveredMoved) room.emit("receipt", { conversationId, userId, kind: "delivered", seq: lastReadSeq, at });
        room.emit("receipt", { conversationId, userId, kind: "read", seq: lastReadSeq, at });
      }
      const devices = this.deps.io.to(userRoom(userId));
      (exceptSocketId ? devices.except(exceptSocketId) : devices).emit("unread", { conversationId, lastReadSeq, unreadCount });
    }
    return { lastReadSeq, unreadCount };
  }
}
