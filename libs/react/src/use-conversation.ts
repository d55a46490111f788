import type { ChatMessage, ConversationView, MemberReceipts, OutgoingMessage, SendInput } from "@parley/client";
import { useMemo, useRef, useSyncExternalStore } from "react";
import { keepIfSame } from "./cached-snapshot.js";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";

/** What `useConversation` renders from: the view's own snapshots, not copies. */
export interface ConversationSnapshot {
  /** Stored messages by seq, then own pending/failed ones (the SDK's array: the same object until it changes). */
  readonly messages: readonly ChatMessage[];
  readonly loaded: boolean;
  readonly hasOlder: boolean;
  /** The window stops before the newest messages (after `loadAround`, or a long scroll back): `loadNewer` pages forward. */
  readonly hasNewer: boolean;
  readonly lastSeq: number;
  /** The conversation's highest seq as far as the client knows. */
  readonly newestSeq: number;
  readonly lastReadSeq: number;
  readonly unreadCount: number;
  /** Other members' delivered/read watermarks, for ticks. */
  readonly receipts: readonly MemberReceipts[];
}

export interface ConversationActions {
  /** The SDK's live view (for what the hook does not wrap, e.g. `receiptFor`, `members`). */
  readonly view: ConversationView;
  loadOlder(limit?: number): Promise<number>;
  loadNewer(limit?: number): Promise<number>;
  /** Replaces the window with the messages around `seq` (a search hit in context). */
  loadAround(seq: number, limit?: number): Promise<void>;
  send(input: SendInput | string): OutgoingMessage;
  /** Call on each keystroke (typing indicator). */
  input(): void;
  stopTyping(): void;
  /** The message with this seq is on screen: sends the read receipt (coalesced). */
  markShown(seq: number): void;
}

export type ConversationResult = ConversationSnapshot & ConversationActions;

/**
 * One conversation: its messages (with paging) and read state. Typing is left out on purpose
 * (`useTyping`): a typist coming and going does not render the message list again.
 * Renders when the view changes, and at most once per batch of changes React sees together.
 */
export function useConversation(conversationId: string): ConversationResult {
  const { client, batcher } = useParleyContext();
  // The SDK keeps one view per conversation: the same object for the client's life.
  const view = client.conversation(conversationId);
  const subscribe = useMemo(() => batched(batcher, view.subscribe), [batcher, view]);
  const last = useRef<ConversationSnapshot | undefined>(undefined);
  const snapshot = useSyncExternalStore(subscribe, () => {
    last.current = keepIfSame(last.current, {
      messages: view.messages,
      loaded: view.loaded,
      hasOlder: view.hasOlder,
      hasNewer: view.hasNewer,
      lastSeq: view.lastSeq,
      newestSeq: view.newestSeq,
      lastReadSeq: view.lastReadSeq,
      unreadCount: view.unreadCount,
      receipts: view.receipts,
    });
    return last.current;
  });
  const actions = useMemo<ConversationActions>(
    () => ({
      view,
      loadOlder: (limit) => view.loadOlder(limit),
      loadNewer: (limit) => view.loadNewer(limit),
      loadAround: (seq, limit) => view.loadAround(seq, limit),
      send: (input) => view.send(input),
      input: () => view.input(),
      stopTyping: () => view.stopTyping(),
      markShown: (seq) => view.markShown(seq),
    }),
    [view],
  );
  return useMemo(() => ({ ...snapshot, ...actions }), [snapshot, actions]);
}
