import type { Conversation, ConversationSummary, ParleyClient } from "@parley/client";
import type { DevUser } from "../dev-sign-in.js";
import { h } from "../dom.js";
import { conversationList, type ListEntry } from "./conversation-list.js";
import { messagePane, type MessagePane } from "./message-pane.js";
import { newConversationForm, type NewConversation } from "./new-conversation-form.js";
import { offlineBanner } from "./offline-banner.js";

export interface ChatAppOptions {
  client: ParleyClient;
  user: DevUser;
  gateway: string;
  onSignOut: () => void;
}

/**
 * The signed-in page: header with the connection state, the offline banner, the conversation
 * list (unread badges, presence dots), the new-conversation form and the open conversation.
 * Everything it shows comes from the SDK; it only keeps the list's labels.
 */
export function chatApp(options: ChatAppOptions): { element: HTMLElement; dispose(): void } {
  const { client, user } = options;
  const summaries = new Map<string, ConversationSummary>();
  const details = new Map<string, Conversation>(); // members, for direct conversations' labels
  let selectedId: string | undefined;
  let pane: MessagePane | undefined;

  const connection = h("span", { class: "connection", "data-testid": "connection" });
  const banner = offlineBanner(client);
  const sidebarList = h("div", { class: "list" });
  const main = h("main", { class: "main" }, h("p", { class: "empty" }, "Pick a conversation, or start one with a user id."));
  const element = h(
    "div",
    { class: "app", "data-testid": "chat", "data-user-id": user.userId },
    h(
      "header",
      { class: "top" },
      h("strong", {}, "Parley"),
      h("span", { class: "me", "data-testid": "me" }, `${user.name} (${user.userId})`),
      h("code", { class: "gateway" }, options.gateway),
      connection,
      h("button", { type: "button", onclick: options.onSignOut }, "Sign out"),
    ),
    banner.element,
    h("div", { class: "body" }, h("aside", { class: "sidebar" }, newConversationForm(create), sidebarList), main),
  );

  const peerOf = (id: string): string | undefined => {
    const summary = summaries.get(id);
    if (summary?.kind !== "direct") return undefined;
    return details.get(id)?.members?.find((m) => m.userId !== user.userId)?.userId;
  };
  const labelOf = (id: string): string => {
    const summary = summaries.get(id);
    if (summary?.title) return summary.title;
    const others = details.get(id)?.members?.filter((m) => m.userId !== user.userId) ?? [];
    return others.length ? others.map((m) => m.displayName).join(", ") : summary?.kind === "direct" ? "Direct conversation" : "Conversation";
  };

  function renderList(): void {
    const entries: ListEntry[] = [...summaries.values()].map((summary) => ({
      // The view's unread count is the live one (new messages, reads on this and other devices).
      summary: { ...summary, unreadCount: client.conversation(summary.id).unreadCount },
      label: labelOf(summary.id),
      peerId: peerOf(summary.id),
    }));
    sidebarList.replaceChildren(conversationList({ entries, selectedId, presenceOf: (id) => (client.state === "online" ? client.presenceOf(id) : undefined), onSelect: select }));
  }

  function renderConnection(): void {
    connection.textContent = client.state;
    connection.dataset.state = client.state;
    banner.update();
    // Presence seen before the connection dropped may be stale: the dots go grey until online.
    renderList();
  }

  async function loadDetails(ids: string[]): Promise<void> {
    const missing = ids.filter((id) => !details.has(id));
    await Promise.all(
      missing.map(async (id) => {
        const conversation = await client.conversations.get(id).catch(() => undefined);
        if (conversation) details.set(id, conversation);
      }),
    );
    const peers = ids.map(peerOf).filter((id): id is string => id !== undefined);
    // Presence of the people we have direct conversations with; changes then arrive as events.
    if (peers.length) await client.presence(peers).catch(() => undefined);
  }

  let refreshing: Promise<void> | undefined;
  let again = false;
  /** Lists the conversations again (at most one request at a time; a request during one runs after it). */
  function refresh(): Promise<void> {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      try {
        const list = await client.conversations.list();
        for (const summary of list) summaries.set(summary.id, summary);
        renderList();
        await loadDetails(list.map((s) => s.id));
        renderList();
        pane?.render();
      } catch {
        // Offline or the gateway is away: the next `online` state lists again.
      } finally {
        refreshing = undefined;
        if (again) {
          again = false;
          void refresh();
        }
      }
    })();
    return refreshing;
  }

  function select(id: string): void {
    if (id === selectedId && pane) return;
    pane?.dispose();
    selectedId = id;
    pane = messagePane(client, client.conversation(id), labelOf(id));
    main.replaceChildren(pane.element);
    pane.render(); // now that it has a size: scrolled to the bottom
    pane.element.querySelector("input")?.focus();
    renderList();
  }

  async function create(input: NewConversation): Promise<void> {
    const kind = input.memberIds.length === 1 && !input.title ? "direct" : "group";
    const conversation = await client.conversations.create({ kind, memberIds: input.memberIds, title: input.title });
    details.set(conversation.id, conversation);
    await refresh();
    select(conversation.id);
  }

  const unsubscribes = [
    client.on("state", ({ current }) => {
      renderConnection();
      if (current === "online") void refresh();
    }),
    client.on("outbox", () => banner.update()),
    client.on("conversation", (conversation) => {
      details.set(conversation.id, conversation);
      void refresh();
    }),
    client.on("message", (message) => {
      const summary = summaries.get(message.conversationId);
      if (!summary) return void refresh();
      if (!summary.lastMessage || (summary.lastMessage.seq ?? 0) < message.seq) summaries.set(summary.id, { ...summary, lastMessage: message, lastSeq: Math.max(summary.lastSeq, message.seq) });
      renderList();
    }),
    client.on("unread", () => renderList()),
    client.on("presence", () => renderList()),
  ];
  renderConnection();
  void refresh();
  return {
    element,
    dispose() {
      for (const unsubscribe of unsubscribes) unsubscribe();
      pane?.dispose();
    },
  };
}
