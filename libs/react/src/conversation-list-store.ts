import type { ConversationSummary, ParleyClient } from "@parley/client";

/** One row of the live conversation list: the server's summary with the live unread count. */
export type ConversationEntry = ConversationSummary;

export interface ConversationListSnapshot {
  /** Newest activity first (last message, else creation). */
  readonly conversations: readonly ConversationEntry[];
  /** Sum of the rows' unread counts. */
  readonly totalUnread: number;
  /** `loading` until the first list arrives; `error` when the latest listing failed (the rows shown are the last good ones). */
  readonly status: "loading" | "ready" | "error";
  readonly error?: unknown;
}

type Listener = () => void;

/**
 * The user's conversations as a live list with a total unread count, for
 * `useSyncExternalStore`: listed over HTTP when the first component subscribes and again on
 * every return to `online` (events missed while away), then kept current from the client's
 * events (`message` moves a row up and updates its preview, `unread` its badge,
 * `conversation` a new or changed conversation). Unread counts are read from the SDK's views
 * (one source of truth: this store keeps only the summaries' other fields).
 *
 * It listens to the client only while someone subscribes, so creating one has no effect.
 */
export class ConversationListStore {
  private readonly summaries = new Map<string, ConversationSummary>();
  /** Rows as last handed out, reused while their summary and unread count are the same (memoized rows stay put). */
  private readonly rows = new Map<string, ConversationEntry>();
  private readonly listeners = new Set<Listener>();
  private detach: (() => void)[] = [];
  private snapshot: ConversationListSnapshot = { conversations: [], totalUnread: 0, status: "loading" };
  private refreshing: Promise<void> | undefined;
  private again = false;
  /** A listing under way seeds every view's unread count: one rebuild after it, not one per conversation. */
  private batching = false;

  constructor(private readonly client: ParleyClient) {}

  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.attach();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.release();
    };
  };

  readonly getSnapshot = (): ConversationListSnapshot => this.snapshot;

  /** Lists the conversations again (one request at a time; a call during one runs once after it). */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      let error: unknown;
      this.batching = true;
      try {
        const list = await this.client.conversations.list();
        // Removed from a conversation: it is no longer listed. A message heard live while the
        // listing was on its way is newer than the listing's last message: it stays the preview.
        const before = new Map(this.summaries);
        this.summaries.clear();
        for (const listed of list) {
          const live = before.get(listed.id)?.lastMessage;
          const newer = live !== undefined && live !== null && live.seq > (listed.lastMessage?.seq ?? 0);
          this.summaries.set(listed.id, newer ? { ...listed, lastMessage: live, lastSeq: Math.max(listed.lastSeq, live.seq) } : listed);
        }
      } catch (failure) {
        error = failure;
      } finally {
        this.batching = false;
        this.refreshing = undefined;
      }
      this.rebuild(error === undefined ? "ready" : "error", error);
      if (this.again) {
        this.again = false;
        await this.refresh();
      }
    })();
    return this.refreshing;
  }

  private attach(): void {
    const client = this.client;
    this.detach = [
      // Back online: list again (conversations created or left while away).
      client.on("state", ({ current }) => {
        if (current === "online") void this.refresh();
      }),
      client.on("message", (message) => {
        const summary = this.summaries.get(message.conversationId);
        if (!summary) return void this.refresh(); // a conversation this list has not seen yet
        if ((summary.lastMessage?.seq ?? 0) >= message.seq) return; // an older page or a gap fill
        this.summaries.set(summary.id, { ...summary, lastMessage: message, lastSeq: Math.max(summary.lastSeq, message.seq) });
        this.rebuild();
      }),
      client.on("message:updated", (message) => {
        const summary = this.summaries.get(message.conversationId);
        if (summary?.lastMessage?.id !== message.id) return;
        this.summaries.set(summary.id, { ...summary, lastMessage: message });
        this.rebuild();
      }),
      client.on("unread", ({ conversationId }) => {
        if (!this.batching && this.summaries.has(conversationId)) this.rebuild();
      }),
      client.on("conversation", (conversation) => {
        const summary = this.summaries.get(conversation.id);
        if (summary && conversation.title !== undefined && summary.title !== conversation.title) {
          this.summaries.set(summary.id, { ...summary, title: conversation.title });
          this.rebuild();
        }
        // New to this user, or its membership changed (the user may have left it): list again.
        void this.refresh();
      }),
    ];
    void this.refresh();
  }

  private release(): void {
    for (const off of this.detach) off();
    this.detach = [];
  }

  private rebuild(status: ConversationListSnapshot["status"] = this.snapshot.status === "loading" ? "loading" : "ready", error?: unknown): void {
    const conversations: ConversationEntry[] = [];
    let totalUnread = 0;
    for (const summary of this.summaries.values()) {
      const unreadCount = this.client.conversation(summary.id).unreadCount;
      totalUnread += unreadCount;
      let row = this.rows.get(summary.id);
      if (!row || row.unreadCount !== unreadCount || !sameSummary(row, summary)) {
        row = unreadCount === summary.unreadCount ? summary : { ...summary, unreadCount };
        this.rows.set(summary.id, row);
      }
      conversations.push(row);
    }
    for (const id of this.rows.keys()) if (!this.summaries.has(id)) this.rows.delete(id);
    conversations.sort((a, b) => activity(b).localeCompare(activity(a)));
    const previous = this.snapshot;
    if (previous.status === status && previous.error === error && previous.totalUnread === totalUnread && sameRows(previous.conversations, conversations)) return;
    this.snapshot = { conversations, totalUnread, status, ...(error === undefined ? {} : { error }) };
    for (const listener of [...this.listeners]) listener();
  }
}

const activity = (summary: ConversationSummary): string => summary.lastMessage?.createdAt ?? summary.createdAt;

/** The row was made from this summary (itself, or a copy with another unread count). */
function sameSummary(row: ConversationEntry, summary: ConversationSummary): boolean {
  return row === summary || (row.lastMessage === summary.lastMessage && row.title === summary.title && row.lastSeq === summary.lastSeq && row.id === summary.id && row.lastReadSeq === summary.lastReadSeq);
}

function sameRows(a: readonly ConversationEntry[], b: readonly ConversationEntry[]): boolean {
  return a.length === b.length && a.every((row, i) => row === b[i]);
}
