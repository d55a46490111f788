import type { ChatMessage, MemberReceipts } from "@parley/client";
import { useParleyClient } from "@parley/react";
import { BLOCKED_PLACEHOLDER } from "../safety/blocked-placeholder.js";
import { MessageMenu } from "../safety/message-menu.js";
import { TICK_GLYPHS, ticksOf } from "../ticks.js";
import { timeOf } from "../time-of.js";

/**
 * One message: sender, text (or the blocked-user placeholder, or "message deleted"), time,
 * ticks on own messages, retry/discard on a refused one, and the menu on others' stored ones.
 */
export function MessageItem({ message, receipts, senderBlocked }: { message: ChatMessage; receipts: readonly MemberReceipts[]; senderBlocked: boolean }) {
  const client = useParleyClient();
  const ticks = message.own ? ticksOf(message, receipts) : undefined;
  // Hidden, not dropped: seq stays gap-free on screen and the menu can still unblock.
  const hidden = senderBlocked && !message.own;
  const id = message.id;
  return (
    <li
      className={message.own ? "own" : "other"}
      data-key={message.key}
      data-seq={message.seq}
      data-status={message.status}
      data-sender={message.senderId}
      data-blocked={hidden || undefined}
    >
      {message.own ? null : <span className="sender">{message.senderName}</span>}
      {hidden ? (
        <span className="body blocked" data-testid="blocked-placeholder">
          {BLOCKED_PLACEHOLDER}
        </span>
      ) : (
        <span className={message.body === null ? "body deleted" : "body"}>{message.body ?? "message deleted"}</span>
      )}
      <span className="meta">
        {timeOf(message.createdAt)}
        {message.editedAt ? " · edited" : ""}
        {ticks ? (
          <span className={`ticks ${ticks}`} data-ticks={ticks} title={ticks}>
            {TICK_GLYPHS[ticks]}
          </span>
        ) : null}
        {!message.own && id !== undefined ? <MessageMenu message={{ ...message, id }} senderBlocked={senderBlocked} /> : null}
      </span>
      {message.status === "failed" ? (
        <span className="failure">
          not sent: {message.error?.code ?? "refused"}
          <button type="button" onClick={() => client.retry(message.clientMessageId)}>
            retry
          </button>
          <button type="button" onClick={() => void client.discard(message.clientMessageId)}>
            discard
          </button>
        </span>
      ) : null}
    </li>
  );
}
