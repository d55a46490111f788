import { useMemo, useSyncExternalStore } from "react";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";
import type { ConversationListSnapshot } from "./conversation-list-store.js";

export interface ConversationsResult extends ConversationListSnapshot {
  /** Lists again now (the list also refreshes by itself on every return to `online`). */
  refresh(): Promise<void>;
}

/**
 * The user's conversations, newest activity first, each with its live unread count, and the
 * total unread count. Shared by every component of the provider (one listing, one store);
 * a row object stays the same while its conversation does not change (fit for `memo`).
 */
export function useConversations(): ConversationsResult {
  const { conversations: store, batcher } = useParleyContext();
  const subscribe = useMemo(() => batched(batcher, store.subscribe), [batcher, store]);
  const snapshot = useSyncExternalStore(subscribe, store.getSnapshot);
  return useMemo(() => ({ ...snapshot, refresh: () => store.refresh() }), [snapshot, store]);
}
