import type { Conversation } from "@parley/client";
import { useConnectionState, usePresence, type ConversationEntry } from "@parley/react";
import { BLOCKED_PLACEHOLDER } from "../safety/blocked-placeholder.js";
import { labelOf, peerOf } from "./use-conversation-details.js";

export interface ConversationListProps {
  me: string;
  conversations: readonly ConversationEntry[];
  details: ReadonlyMap<string, Conversation>;
  selectedId: string | undefined;
  muted: ReadonlySet<string>;
  /** Users this user blocks: a last message of theirs is not previewed. */
  blocked: ReadonlySet<string>;
  onSelect: (conversationId: string) => void;
}

/** The sidebar: newest activity first, an unread badge, and a presence dot for direct chats. */
export function ConversationList({ me, conversations, details, selectedId, muted, blocked, onSelect }: ConversationListProps) {
  const peers = conversations.map((c) => peerOf(details.get(c.id), me)).filter((id): id is string => id !== undefined);
  const presence = usePresence(peers);
  // Presence seen before the connection dropped may be stale: the dots go grey until online.
  const online = useConnectionState().current === "online";
  return (
    <ul className="conversations" data-testid="conversations">
      {conversations.map((summary) => {
        const peerId = peerOf(details.get(summary.id), me);
        const status = peerId && online ? (presence[peerId]?.status ?? "unknown") : "unknown";
        const last = summary.lastMessage;
        return (
          <li key={summary.id} data-conversation-id={summary.id} className={summary.id === selectedId ? "selected" : undefined} onClick={() => onSelect(summary.id)}>
            {peerId ? <span className="presence" data-status={status} title={status === "unknown" ? "presence unknown" : status} /> : <span className="presence group" title={summary.kind} />}
            <span className="label">
              <span className="title">
                {labelOf(summary, details.get(summary.id), me)}
                {muted.has(summary.id) ? <span className="muted-mark" title="muted"> 🔕</span> : null}
              </span>
              <span className="preview">{last ? `${last.senderName}: ${blocked.has(last.senderId) ? BLOCKED_PLACEHOLDER : (last.body ?? "(deleted)")}` : "no messages yet"}</span>
            </span>
            {summary.unreadCount > 0 ? (
              <span className="badge" data-testid="unread">
                {summary.unreadCount}
              </span>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}
