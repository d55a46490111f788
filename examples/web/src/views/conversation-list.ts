import type { ConversationSummary, PresenceEntry } from "@parley/client";
import { h } from "../dom.js";

export interface ListEntry {
  summary: ConversationSummary;
  /** The title, or for a direct conversation the other member's name. */
  label: string;
  /** The other member of a direct conversation (for the presence dot). */
  peerId?: string;
}

export interface ConversationListProps {
  entries: readonly ListEntry[];
  selectedId: string | undefined;
  presenceOf: (userId: string) => PresenceEntry | undefined;
  onSelect: (conversationId: string) => void;
}

/** The sidebar: newest activity first, an unread badge, and a presence dot for direct chats. */
export function conversationList(props: ConversationListProps): HTMLElement {
  const sorted = [...props.entries].sort((a, b) => activity(b.summary).localeCompare(activity(a.summary)));
  return h(
    "ul",
    { class: "conversations", "data-testid": "conversations" },
    ...sorted.map(({ summary, label, peerId }) => {
      const presence = peerId ? props.presenceOf(peerId) : undefined;
      const last = summary.lastMessage;
      return h(
        "li",
        {
          "data-conversation-id": summary.id,
          class: summary.id === props.selectedId ? "selected" : undefined,
          onclick: () => props.onSelect(summary.id),
        },
        peerId
          ? h("span", { class: "presence", "data-status": presence?.status ?? "unknown", title: presence?.status ?? "presence unknown" })
          : h("span", { class: "presence group", title: summary.kind }),
        h(
          "span",
          { class: "label" },
          h("span", { class: "title" }, label),
          h("span", { class: "preview" }, last ? `${last.senderName}: ${last.body ?? "(deleted)"}` : "no messages yet"),
        ),
        summary.unreadCount > 0 ? h("span", { class: "badge", "data-testid": "unread" }, summary.unreadCount) : null,
      );
    }),
  );
}

const activity = (summary: ConversationSummary) => summary.lastMessage?.createdAt ?? summary.createdAt;
