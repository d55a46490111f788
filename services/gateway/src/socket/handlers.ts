import type { z } from "zod";
import { ParleyError, type ClientEvents, type ClientEventName, type ClientPayload, type Role } from "@parley/protocol";
import type { ConversationService } from "../conversations/conversation-service.js";
import type { ReceiptService } from "../receipts/receipt-service.js";
import type { SendService } from "../send/send-service.js";
import type { MessageChangeService } from "../messages/message-change-service.js";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { PresenceQuery } from "../presence/presence-query.js";
import type { TypingService } from "../typing/typing-service.js";
import type { BlockService } from "../safety/block-service.js";
import type { MuteService } from "../safety/mute-service.js";
import type { ReportService } from "../safety/report-service.js";

export interface SocketSession {
  userId: string;
  name: string;
  exp: number;
  /** The token's `parley_role` claim ("user" when absent or unknown). */
  role: Role;
  /** The socket's id (a room of its own): events for "the user's other devices" leave it out. */
  socketId: string;
  /** Moves the session's expiry after `auth:refresh`. */
  extend(exp: number): void;
}

export interface HandlerDeps {
  send: SendService;
  conversations: ConversationService;
  receipts: ReceiptService;
  verify: TokenVerifier;
  changes: MessageChangeService;
  typing: TypingService;
  presence: PresenceQuery;
  blocks: Pick<BlockService, "block" | "unblock">;
  mutes: MuteService;
  reports: Pick<ReportService, "report">;
}

type OkAck<E extends ClientEventName> = z.infer<(typeof ClientEvents)[E]["ack"]>;
export type Handler<E extends ClientEventName> = (session: SocketSession, payload: ClientPayload<E>) => Promise<OkAck<E>>;
/** A missing handler is a compile error: every event of the catalog is answered. */
export type Handlers = { [E in ClientEventName]: Handler<E> };

export function createHandlers(deps: HandlerDeps): Handlers {
  return {
    "message:send": (s, p) => deps.send.send(s, p),
    sync: (s, p) => deps.conversations.sync(s.userId, p),
    "messages:history": (s, p) => deps.conversations.history(s.userId, p),
    "message:read": (s, p) => deps.receipts.read(s.userId, p.conversationId, p.seq, s.socketId),
    "message:delivered": (s, p) => deps.receipts.delivered(s.userId, p.conversationId, p.seq),
    "auth:refresh": async (s, p) => {
      const token = await deps.verify(p.token).catch((err: unknown) => {
        if (err instanceof ParleyError && err.code === "UNAVAILABLE") throw err; // keys out of reach: retry
        throw new ParleyError("UNAUTHORIZED", err instanceof Error ? err.message : "invalid token");
      });
      if (token.userId !== s.userId) throw new ParleyError("UNAUTHORIZED", "the token is for another user");
      // A refresh cannot change what the socket may do: a role is granted at the handshake.
      if (token.role !== s.role) throw new ParleyError("UNAUTHORIZED", "the token carries another role");
      s.extend(token.exp);
      return { exp: token.exp };
    },
    "typing:start": (s, p) => deps.typing.start(s, p.conversationId),
    "typing:stop": (s, p) => deps.typing.stop(s, p.conversationId),
    "presence:query": (s, p) => deps.presence.query(s.userId, p.userIds),
    "message:edit": (s, p) => deps.changes.edit(s, p),
    "message:delete": (s, p) => deps.changes.delete(s, p),
    "reaction:add": (s, p) => deps.changes.react(s, "add", p),
    "reaction:remove": (s, p) => deps.changes.react(s, "remove", p),
    "user:block": (s, p) => deps.blocks.block(s, p.userId),
    "user:unblock": (s, p) => deps.blocks.unblock(s, p.userId),
    "conversation:mute": (s, p) => deps.mutes.mute(s.userId, p.conversationId, p.until),
    "conversation:unmute": (s, p) => deps.mutes.unmute(s.userId, p.conversationId),
    "message:report": async (s, p) => ({ reportId: (await deps.reports.report(s, p)).reportId }),
  };
}
