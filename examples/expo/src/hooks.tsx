import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { ChatMessage, ConnectionStateChange, ConversationSummary, ConversationView, ParleyClient, Typist } from "@parley/client";

/*
 * Small local hooks on the SDK's stores (`useSyncExternalStore`): the SDK's views already
 * hold the state, so nothing is copied into React state but the conversation list.
 */

const ParleyContext = createContext<ParleyClient | null>(null);

export function ParleyProvider({ client, children }: { client: ParleyClient; children: ReactNode }) {
  return <ParleyContext.Provider value={client}>{children}</ParleyContext.Provider>;
}

export function useParley(): ParleyClient {
  const client = useContext(ParleyContext);
  if (!client) throw new Error("useParley: no ParleyProvider above this component");
  return client;
}

/** `{ current, previous, reason, retryInMs }` of the connection, re-rendering on each change. */
export function useConnectionState(): ConnectionStateChange {
  const client = useParley();
  const subscribe = useCallback((onChange: () => void) => client.on("state", onChange), [client]);
  return useSyncExternalStore(subscribe, () => client.stateChange);
}

export interface ConversationSnapshot {
  view: ConversationView;
  messages: readonly ChatMessage[];
  unreadCount: number;
  typing: readonly Typist[];
  hasOlder: boolean;
  hasNewer: boolean;
  loaded: boolean;
}

/** One conversation's live view; re-renders only when one of the snapshot's fields changed. */
export function useConversation(conversationId: string): ConversationSnapshot {
  const client = useParley();
  const view = useMemo(() => client.conversation(conversationId), [client, conversationId]);
  const last = useRef<ConversationSnapshot | undefined>(undefined);
  const snapshot = useCallback((): ConversationSnapshot => {
    const prev = last.current;
    const next = { view, messages: view.messages, unreadCount: view.unreadCount, typing: view.typing, hasOlder: view.hasOlder, hasNewer: view.hasNewer, loaded: view.loaded };
    const same =
      prev !== undefined &&
      prev.view === next.view &&
      prev.messages === next.messages &&
      prev.unreadCount === next.unreadCount &&
      prev.typing === next.typing &&
      prev.hasOlder === next.hasOlder &&
      prev.hasNewer === next.hasNewer &&
      prev.loaded === next.loaded;
    if (same) return prev;
    last.current = next;
    return next;
  }, [view]);
  return useSyncExternalStore(view.subscribe, snapshot);
}

export interface ConversationsState {
  conversations: readonly ConversationSummary[];
  totalUnread: number;
  error: string | undefined;
  refresh: () => void;
}

/** The user's conversations with unread counts, listed when online and kept current by `unread` and `conversation` events. */
export function useConversations(): ConversationsState {
  const client = useParley();
  const [conversations, setConversations] = useState<readonly ConversationSummary[]>([]);
  const [error, setError] = useState<string | undefined>(undefined);
  const refresh = useCallback(() => {
    client.conversations.list().then(
      (list) => {
        setConversations(list);
        setError(undefined);
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
  }, [client]);
  useEffect(() => {
    refresh();
    const offs = [
      client.on("state", ({ current }) => current === "online" && refresh()),
      client.on("conversation", () => refresh()),
      client.on("unread", (u) => setConversations((list) => list.map((c) => (c.id === u.conversationId ? { ...c, unreadCount: u.unreadCount, lastReadSeq: u.lastReadSeq } : c)))),
    ];
    return () => offs.forEach((off) => off());
  }, [client, refresh]);
  const totalUnread = useMemo(() => conversations.reduce((n, c) => n + c.unreadCount, 0), [conversations]);
  return { conversations, totalUnread, error, refresh };
}
