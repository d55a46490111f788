import type { ClientAck, ClientEventName, ClientPayload, Conversation, Message, ServerPayload, SyncConversation } from "@parley/protocol";
import type { Emitter } from "./emitter.js";
import type { HttpApi } from "./http-api.js";
import { MessageWindow } from "./message-window.js";
import { ParleyRequestError } from "./request-error.js";
import { LocalTyping, RemoteTypists } from "./typing.js";
import type {
  ChatMessage,
  ClientEventMap,
  ClientLogger,
  ConversationView,
  MemberReceipts,
  OutgoingMessage,
  SendInput,
  Typist,
  Unsubscribe,
} from "./types.js";

export interface ViewDeps {
  userId: () => string | undefined;
  /** This connection's resume sync has been answered (before that, it brings the newest pages). */
  synced: () => boolean;
  request: <E extends ClientEventName>(event: E, payload: ClientPayload<E>) => Promise<ClientAck<E>>;
  online: () => boolean;
  http: HttpApi;
  outbox: { list(conversationId: string): OutgoingMessage[]; enqueue(conversationId: string, input: SendInput): OutgoingMessage };
  emitter: Emitter<ClientEventMap>;
  logger: ClientLogger;
  now: () => number;
  pageSize: number;
  /** Most stored messages the window holds (at least 2 · pageSize). */
  maxWindowMessages: number;
  /** Further behind than this: reopen at the newest page (`discontinuity`) instead of paging forward. */
  maxCatchUpMessages: number;
  receiptDelayMs: number;
  typingIdleMs: number;
  remoteTypingExpiryMs: number;
}

/** The server forgets a typist after 6 s without `typing:start`; renewing every 3 s keeps the indicator up. */
const TYPING_RENEW_MS = 3_000;

/**
 * One conversation as the app sees it: the message window (ordered, deduplicated, gap-free
 * once filled) merged with own unsent messages, unread state, typists and receipts. It fills
 * gaps and pages forward by itself; the client feeds it server events and sync answers.
 */
export class ConversationViewImpl implements ConversationView {
  private readonly window = new MessageWindow();
  private readonly subscribers = new Set<() => void>();
  private readonly local: LocalTyping;
  private readonly remote: RemoteTypists;
  private readonly receiptsByUser = new Map<string, MemberReceipts>();
  private cached: readonly ChatMessage[] | undefined;
  private receiptsSnapshot: readonly MemberReceipts[] = [];
  private readSeq = 0;
  private unread = 0;
  private readTarget = 0;
  private readSent = 0;
  private deliveredTarget = 0;
  private deliveredSent = 0;
  private receiptTimer: ReturnType<typeof setTimeout> | undefined;
  private filling: Promise<void> | undefined;
  private fillAgain = false;
  private fillCountsUnread = false;
  /**
   * Placed at the conversation's end without the page before it (a conversation list or event
   * named its lastSeq, or the server's sync budget left it out): it fetches that page by itself.
   */
  private newestPageMissing = false;
  private fetchingNewest = false;
  /**
   * The window ends before the conversation does (after `loadAround`, or `loadOlder` past the
   * cap): live messages are counted and announced but not added, and nothing pages forward by
   * itself; `loadNewer()` does.
   */
  private detached = false;
  /** The conversation's highest seq as far as known (live messages, receipts, sync, conversation events). */
  private newest = 0;
  /** Bumped whenever the window is replaced: an answer to a request made before is dropped. */
  private epoch = 0;
  /**
   * The highest seq announced (`message` event). Pages fetched by the app (older, newer,
   * around a seq, the newest after a discontinuity) announce only messages above it, so
   * history and pages fetched again after the cap dropped them are not news again.
   */
  private announcedMax = 0;
  /** The server's unread count covers the conversation up to here (a sync's lastSeq): a reopening does not count those again. */
  private unreadKnownUpTo = 0;
  /** A reopening at the newest page is under way: fills wait for it rather than start another. */
  private reopening = false;
  private closed = false;

  constructor(
    readonly id: string,
    private readonly deps: ViewDeps,
  ) {
    this.local = new LocalTyping({
      idleMs: deps.typingIdleMs,
      renewMs: TYPING_RENEW_MS,
      now: deps.now,
      send: (event) => {
        if (!deps.online()) return;
        // Typing is best effort: a lost start or stop is corrected by the server's 6 s expiry.
        void deps.request(event, { conversationId: id });
      },
    });
    this.remote = new RemoteTypists(deps.remoteTypingExpiryMs, (typists) => {
      deps.emitter.emit("typing", { conversationId: id, typists });
      this.notify();
    });
  }

  get messages(): readonly ChatMessage[] {
    if (this.cached) return this.cached;
    const me = this.deps.userId();
    const stored = this.window.list().map((m) => toChat(m, me));
    const keys = new Set(stored.map((m) => m.key));
    const pending: ChatMessage[] = [];
    for (const o of this.deps.outbox.list(this.id)) {
      const chat = outgoingToChat(o);
      if (!keys.has(chat.key)) pending.push(chat);
    }
    this.cached = pending.length > 0 ? [...stored, ...pending] : stored;
    return this.cached;
  }

  get lastSeq(): number {
    return this.window.lastSeq;
  }
  get hasOlder(): boolean {
    const floor = this.window.floor;
    return floor === undefined || floor > 0;
  }
  get hasNewer(): boolean {
    return this.detached;
  }
  get newestSeq(): number {
    return Math.max(this.newest, this.window.maxSeq);
  }
  get lastReadSeq(): number {
    return this.readSeq;
  }
  get unreadCount(): number {
    return this.unread;
  }
  get typing(): readonly Typist[] {
    return this.remote.list;
  }
  get receipts(): readonly MemberReceipts[] {
    return this.receiptsSnapshot;
  }
  get loaded(): boolean {
    return this.window.known && !this.newestPageMissing;
  }

  /** For the resume sync: this view's cursor, or undefined to be sent the newest page. */
  get cursor(): number | undefined {
    return this.window.known && !this.newestPageMissing ? this.window.lastSeq : undefined;
  }

  receiptFor(seq: number): { deliveredTo: string[]; readBy: string[] } {
    const deliveredTo: string[] = [];
    const readBy: string[] = [];
    for (const r of this.receiptsByUser.values()) {
      if (r.deliveredSeq >= seq) deliveredTo.push(r.userId);
      if (r.readSeq >= seq) readBy.push(r.userId);
    }
    return { deliveredTo, readBy };
  }

  /** An arrow property, so `useSyncExternalStore(view.subscribe, ...)` can pass it unbound. */
  readonly subscribe = (fn: () => void): Unsubscribe => {
    this.subscribers.add(fn);
    return () => void this.subscribers.delete(fn);
  };

  send(input: SendInput | string): OutgoingMessage {
    this.local.stop();
    return this.deps.outbox.enqueue(this.id, typeof input === "string" ? { body: input } : input);
  }

  input(): void {
    this.local.input();
  }

  stopTyping(): void {
    this.local.stop();
  }

  markShown(seq: number): void {
    const target = Math.min(seq, this.window.maxSeq);
    if (target <= this.readSeq) return;
    const before = this.readSeq;
    this.readSeq = target;
    this.unread = Math.max(0, this.unread - this.othersBetween(before, target));
    this.readTarget = Math.max(this.readTarget, target);
    this.emitUnread();
    this.scheduleReceipts();
  }

  async loadOlder(limit = this.deps.pageSize): Promise<number> {
    const floor = this.window.floor;
    if (floor === 0) return 0;
    const epoch = this.epoch;
    const page = await this.history(floor === undefined ? { limit } : { beforeSeq: floor + 1, limit });
    if (epoch !== this.epoch || this.closed) return 0; // the window was replaced meanwhile
    const added = this.window.addOlder(page.messages, page.hasMore);
    // Over the cap while paging back: the newest messages go, and the window no longer reaches the end.
    const excess = this.window.size - this.deps.maxWindowMessages;
    if (excess > 0) {
      this.window.dropNewest(excess);
      this.detached = true;
    }
    this.afterAdd(added, false, true);
    if (excess > 0 && added.length === 0) this.changed();
    return added.length;
  }

  async loadNewer(limit = this.deps.pageSize): Promise<number> {
    if (!this.detached || !this.window.known) return 0;
    const epoch = this.epoch;
    const page = await this.history({ afterSeq: this.window.lastSeq, limit });
    if (epoch !== this.epoch || this.closed) return 0;
    const added = this.window.add(page.messages);
    for (const m of page.messages) this.noteSeq(m.seq);
    this.window.dropOldest(this.window.size - this.deps.maxWindowMessages);
    if (!page.hasMore) this.detached = false;
    this.afterAdd(added, false, true);
    if (added.length === 0) this.changed();
    // Back at the end: anything announced meanwhile beyond this page is fetched as a gap would be.
    if (!this.detached && this.newestSeq > this.window.lastSeq) this.fill(false);
    return added.length;
  }

  async loadAround(seq: number, limit = this.deps.pageSize): Promise<void> {
    const after = Math.max(1, Math.floor(limit / 2));
    const before = Math.max(1, limit - after);
    const epoch = ++this.epoch;
    const [older, newer] = await Promise.all([
      this.history({ beforeSeq: seq + 1, limit: before }),
      this.history({ afterSeq: seq, limit: after }),
    ]);
    if (epoch !== this.epoch || this.closed) return; // a later loadAround or reopening won
    this.reopening = false; // this window replaces the one a reopening was fetching
    const messages = [...older.messages, ...newer.messages];
    this.window.reset();
    this.newestPageMissing = false;
    const added = this.window.add(messages);
    const first = messages[0];
    this.window.setFloor(older.hasMore ? (first ? first.seq - 1 : seq) : 0);
    for (const m of messages) this.noteSeq(m.seq);
    this.detached = newer.hasMore;
    this.afterAdd(added, false, true);
    if (added.length === 0) this.changed();
    if (!this.detached && this.newestSeq > this.window.lastSeq) this.fill(false);
  }

  async members(): Promise<Conversation> {
    const res = await this.deps.http.getConversation(this.id);
    if (!res.ok) throw new ParleyRequestError(res.error);
    const me = this.deps.userId();
    for (const m of res.data.conversation.members ?? []) {
      if (m.userId !== me) this.updateReceipt(m.userId, m.deliveredSeq, m.readSeq);
      else if (m.readSeq > this.readSeq) this.readSeq = m.readSeq;
    }
    this.receiptsChanged();
    return res.data.conversation;
  }

  // ---- fed by the client ----

  /** A `sync` entry. Without a cursor it is the newest page and places the window. */
  applySync(conv: SyncConversation, hadCursor: boolean): void {
    this.noteSeq(conv.lastSeq);
    if (hadCursor && this.window.known && (this.detached || conv.lastSeq - this.window.lastSeq > this.deps.maxCatchUpMessages)) {
      // Detached: the answer's messages are not where the app reads. Far behind: reopen at the
      // newest page rather than page through everything in between. Either way the server's
      // read state stands (its counts include what this view skips).
      if (conv.lastReadSeq >= this.readSeq) {
        this.readSeq = conv.lastReadSeq;
        this.unread = conv.unreadCount;
        this.unreadKnownUpTo = Math.max(this.unreadKnownUpTo, conv.lastSeq);
      }
      this.emitUnread();
      if (!this.detached) this.reopen(false);
      return;
    }
    const added = this.window.add(conv.messages);
    if (!hadCursor || !this.window.known) {
      const first = conv.messages[0];
      this.window.setFloor(first ? first.seq - 1 : conv.lastSeq);
      // The newest page, unless the server's 2,000-message budget was spent on other conversations.
      this.newestPageMissing = !first && conv.lastSeq > 0;
    }
    // The server's read state wins unless this device has read further and not said so yet;
    // its count already includes the messages of this answer and of the pages still to come.
    const serverWins = conv.lastReadSeq >= this.readSeq;
    if (serverWins) {
      this.readSeq = conv.lastReadSeq;
      this.unread = conv.unreadCount;
      this.unreadKnownUpTo = Math.max(this.unreadKnownUpTo, conv.lastSeq);
    }
    this.afterAdd(added, !serverWins);
    this.emitUnread();
    // Without a cursor, hasMore means older messages: the answer already ends at the newest one.
    if ((hadCursor && conv.hasMore) || this.window.hasGap || this.window.lastSeq < conv.lastSeq) this.fill(!serverWins);
  }

  /**
   * A conversation this client had not seen (a list, created, or the user was added) ends at
   * `lastSeq`: later messages come live, and the page up to it is fetched (by the resume sync
   * when one is still to come, else by the view itself), so the view opens on its newest messages.
   */
  place(lastSeq: number): void {
    if (this.window.known) return;
    this.window.setFloor(lastSeq);
    this.newestPageMissing = lastSeq > 0;
    this.fetchNewestPage();
  }

  /** Fetches the page before the placed end, when it is missing and no resume sync will bring it. */
  fetchNewestPage(): void {
    if (!this.newestPageMissing || this.fetchingNewest || this.closed || !this.deps.online() || !this.deps.synced()) return;
    this.fetchingNewest = true;
    this.loadOlder()
      .then(() => {
        this.newestPageMissing = false;
        this.notify();
      })
      // Tried again after the next resume sync.
      .catch((err: unknown) => this.report("messages:history", err))
      .finally(() => (this.fetchingNewest = false));
  }

  applyLive(message: Message): void {
    this.noteSeq(message.seq);
    if (this.detached) return this.announceDetached(message);
    const added = this.window.add([message]);
    if (added.length === 0) return;
    if (message.senderId !== this.deps.userId()) this.remote.remove(message.senderId);
    this.afterAdd(added, true);
    // Messages missed live were never counted: the fill counts them as unread.
    if (this.window.hasGap) this.fill(true);
  }

  /** An own message acked by the outbox. */
  applyOwn(message: Message): void {
    this.noteSeq(message.seq);
    if (this.detached) return this.announceDetached(message);
    this.afterAdd(this.window.add([message]), false);
    if (this.window.hasGap) this.fill(true);
  }

  applyUpdate(message: Message): void {
    if (this.window.replace(message)) this.changed();
  }

  applyReaction(r: ServerPayload<"reaction">): void {
    const m = this.window.get(r.messageId);
    if (!m) return;
    const reactions = (m.reactions ?? []).map((x) => ({ emoji: x.emoji, userIds: [...x.userIds] }));
    let entry = reactions.find((x) => x.emoji === r.emoji);
    if (r.op === "add") {
      if (!entry) reactions.push((entry = { emoji: r.emoji, userIds: [] }));
      if (!entry.userIds.includes(r.userId)) entry.userIds.push(r.userId);
    } else if (entry) {
      entry.userIds = entry.userIds.filter((u) => u !== r.userId);
    }
    const kept = reactions.filter((x) => x.userIds.length > 0);
    const next: Message = { ...m };
    if (kept.length > 0) next.reactions = kept;
    else delete next.reactions;
    this.window.replace(next);
    this.changed();
  }

  applyTyping(t: ServerPayload<"typing">): void {
    if (t.userId === this.deps.userId()) return;
    this.remote.set(t.userId, t.userName, t.isTyping);
  }

  applyReceipt(r: ServerPayload<"receipt">): void {
    // A watermark past this view's end (any member, any device): a message was lost in transit.
    this.noteNewestSeq(r.seq);
    if (r.userId === this.deps.userId()) return;
    const current = this.receiptsByUser.get(r.userId);
    this.updateReceipt(
      r.userId,
      r.kind === "delivered" ? r.seq : (current?.deliveredSeq ?? 0),
      r.kind === "read" ? r.seq : (current?.readSeq ?? 0),
    );
    this.receiptsChanged();
  }

  /**
   * A conversation list's row: it ends at `lastSeq` and counts unread as of then. Messages this
   * view heard live after that are not in the row's count: they are added to it (those in the
   * window; a detached view's are not held, so its count may stay short until the next sync).
   * This device's own read state, when it has read further, stands (applyUnread).
   */
  applyListed(row: { lastSeq: number; lastReadSeq: number; unreadCount: number }): void {
    this.place(row.lastSeq);
    let unreadCount = row.unreadCount;
    if (this.newestSeq > row.lastSeq) {
      const me = this.deps.userId();
      const from = Math.max(row.lastSeq, row.lastReadSeq);
      for (const m of this.window.list()) if (m.seq > from && m.senderId !== me) unreadCount++;
    }
    this.applyUnread({ lastReadSeq: row.lastReadSeq, unreadCount });
    if (row.lastReadSeq >= this.readSeq) this.unreadKnownUpTo = Math.max(this.unreadKnownUpTo, row.lastSeq);
  }

  /** Read state from another device of this user (or this device's own read ack). */
  applyUnread(u: { lastReadSeq: number; unreadCount: number }): void {
    if (u.lastReadSeq < this.readSeq) return;
    if (u.lastReadSeq === this.readSeq && u.unreadCount === this.unread) return;
    this.readSeq = u.lastReadSeq;
    this.unread = u.unreadCount;
    this.emitUnread();
  }

  /**
   * Someone says the conversation reaches `seq` (a receipt, `conversation:updated`): when that
   * is past the window's end, the message(s) in between were lost in transit and are fetched.
   */
  noteNewestSeq(seq: number): void {
    if (!this.noteSeq(seq)) return;
    if (this.detached || !this.window.known || this.newestPageMissing) return this.notify();
    if (seq > this.window.maxSeq) this.fill(true);
  }

  /** The outbox changed one of this conversation's messages. */
  outboxChanged(): void {
    this.changed();
  }

  /** Back online: send watermarks that could not go out while offline. */
  flushReceipts(): void {
    if (this.readTarget > this.readSent || this.deliveredTarget > this.deliveredSent) this.scheduleReceipts();
  }

  /** The socket went away: our typing ended with it; remote typists still expire by themselves. */
  disconnected(): void {
    this.local.reset();
  }

  close(): void {
    this.closed = true;
    this.local.reset();
    this.remote.clear();
    clearTimeout(this.receiptTimer);
    this.receiptTimer = undefined;
    this.subscribers.clear();
  }

  // ---- internals ----

  /** Records a newer end of the conversation; true when it was news. */
  private noteSeq(seq: number): boolean {
    if (seq <= this.newest) return false;
    this.newest = seq;
    return true;
  }

  /** A live message while detached: counted and announced, added when `loadNewer` reaches it. */
  private announceDetached(message: Message): void {
    if (message.seq <= this.announcedMax) return;
    this.announcedMax = message.seq;
    this.deps.emitter.emit("message", message);
    if (message.senderId !== this.deps.userId()) {
      this.remote.remove(message.senderId);
      if (message.seq > this.readSeq) {
        this.unread++;
        this.emitUnread();
      }
    } else this.notify();
  }

  /**
   * Too far behind to page forward: drops the window and opens the newest page, then emits
   * `discontinuity`. `countUnread`: the skipped messages are counted as unread (an upper
   * bound: their senders are unknown; the next sync or read ack brings the server's count).
   */
  private reopen(countUnread: boolean): Promise<void> {
    const epoch = ++this.epoch;
    const fromSeq = this.window.lastSeq;
    this.reopening = true;
    return this.history({ limit: this.deps.pageSize })
      .then((page) => {
        if (epoch !== this.epoch || this.closed) return;
        this.reopening = false;
        // Held beyond the gap (they came live): counted already.
        const counted = new Set(this.window.list().filter((m) => m.seq > fromSeq).map((m) => m.seq));
        this.window.reset();
        this.detached = false;
        this.newestPageMissing = false;
        const first = page.messages[0];
        const last = page.messages.at(-1);
        const added = this.window.add(page.messages);
        this.window.setFloor(first ? first.seq - 1 : this.newest);
        if (last) this.noteSeq(last.seq);
        if (countUnread && first) {
          const me = this.deps.userId();
          const from = Math.max(fromSeq, this.readSeq, this.unreadKnownUpTo);
          // Skipped seqs from + 1 … first − 1 (arithmetic: the range can be long), less those counted.
          let skipped = Math.max(0, first.seq - 1 - from);
          for (const seq of counted) if (seq > from && seq < first.seq) skipped--;
          this.unread += skipped;
          for (const m of page.messages) if (m.seq > from && m.senderId !== me && !counted.has(m.seq)) this.unread++;
        }
        this.deps.logger.info?.({ conversationId: this.id, fromSeq, toSeq: this.window.lastSeq }, "too far behind: reopened at the newest page");
        this.deps.emitter.emit("discontinuity", { conversationId: this.id, fromSeq, toSeq: this.window.lastSeq });
        this.afterAdd(added, false, true);
        if (added.length === 0) this.changed();
        if (countUnread) this.emitUnread();
        // An own message acked while the page was on its way is newer than the page.
        if (this.newest > this.window.lastSeq) this.fill(countUnread);
      })
      .catch((err: unknown) => this.report("reopen", err))
      .finally(() => {
        if (epoch === this.epoch) this.reopening = false;
      });
  }

  private afterAdd(added: Message[], countUnread: boolean, paged = false): void {
    if (added.length === 0) return;
    // While following the newest messages, the cap drops the oldest ones.
    if (!this.detached) this.window.dropOldest(this.window.size - this.deps.maxWindowMessages);
    const me = this.deps.userId();
    let fromOthers = false;
    for (const m of added) {
      if (paged && m.seq <= this.announcedMax) continue; // history, or announced before
      this.deps.emitter.emit("message", m);
      if (m.seq > this.announcedMax) this.announcedMax = m.seq;
      if (m.senderId === me) continue;
      fromOthers = true;
      if (countUnread && m.seq > this.readSeq) this.unread++;
    }
    this.changed();
    if (fromOthers) {
      if (countUnread) this.emitUnread();
      // Delivered: everything up to the contiguous end is on this device now.
      if (this.window.lastSeq > this.deliveredTarget) {
        this.deliveredTarget = this.window.lastSeq;
        this.scheduleReceipts();
      }
    }
  }

  /** Pages forward from `lastSeq` until the server has nothing more: fills gaps and long absences. One at a time. */
  private fill(countUnread: boolean): void {
    this.fillCountsUnread ||= countUnread;
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    this.filling = (async () => {
      try {
        do {
          this.fillAgain = false;
          for (;;) {
            if (this.closed || !this.deps.online() || !this.window.known || this.detached || this.reopening) return;
            const from = this.window.lastSeq;
            if (this.newestSeq - from > this.deps.maxCatchUpMessages) {
              // Far behind. A resume sync still to come decides with the server's read state.
              if (this.deps.synced()) await this.reopen(this.fillCountsUnread);
              return;
            }
            const epoch = this.epoch;
            const page = await this.history({ afterSeq: from, limit: this.deps.pageSize });
            if (epoch !== this.epoch) return; // the window was replaced meanwhile
            for (const m of page.messages) this.noteSeq(m.seq);
            const added = this.window.add(page.messages);
            this.afterAdd(added, this.fillCountsUnread);
            if (!page.hasMore && !this.window.hasGap) break;
            if (this.window.lastSeq === from) break; // no progress: stop rather than spin
          }
        } while (this.fillAgain);
      } catch (err) {
        this.report("fill", err);
      } finally {
        this.filling = undefined;
        this.fillCountsUnread = false;
      }
    })();
  }

  private async history(q: { beforeSeq?: number; afterSeq?: number; limit: number }): Promise<{ messages: Message[]; hasMore: boolean }> {
    const answer = await this.deps.request("messages:history", { conversationId: this.id, ...q });
    if (!answer.ok) throw new ParleyRequestError(answer.error);
    return { messages: answer.messages, hasMore: answer.hasMore };
  }

  private othersBetween(after: number, upTo: number): number {
    const me = this.deps.userId();
    let n = 0;
    for (const m of this.window.list()) if (m.seq > after && m.seq <= upTo && m.senderId !== me) n++;
    return n;
  }

  private scheduleReceipts(): void {
    if (this.receiptTimer || this.closed) return;
    this.receiptTimer = setTimeout(() => {
      this.receiptTimer = undefined;
      void this.sendReceipts();
    }, this.deps.receiptDelayMs);
  }

  private async sendReceipts(): Promise<void> {
    if (!this.deps.online()) return; // flushReceipts() on reconnect
    const delivered = Math.max(this.deliveredTarget, this.readTarget);
    if (delivered > this.deliveredSent) {
      this.deliveredSent = delivered;
      const a = await this.deps.request("message:delivered", { conversationId: this.id, seq: delivered });
      if (!a.ok) {
        this.deliveredSent = 0;
        this.report("message:delivered", new ParleyRequestError(a.error));
      }
    }
    const read = this.readTarget;
    if (read > this.readSent) {
      this.readSent = read;
      const a = await this.deps.request("message:read", { conversationId: this.id, seq: read });
      if (a.ok) this.applyUnread(a);
      else {
        this.readSent = 0;
        this.report("message:read", new ParleyRequestError(a.error));
      }
    }
  }

  private updateReceipt(userId: string, deliveredSeq: number, readSeq: number): void {
    const current = this.receiptsByUser.get(userId);
    this.receiptsByUser.set(userId, {
      userId,
      deliveredSeq: Math.max(deliveredSeq, readSeq, current?.deliveredSeq ?? 0),
      readSeq: Math.max(readSeq, current?.readSeq ?? 0),
    });
  }

  private receiptsChanged(): void {
    this.receiptsSnapshot = [...this.receiptsByUser.values()];
    this.notify();
  }

  private report(operation: string, err: unknown): void {
    const error =
      err instanceof ParleyRequestError
        ? { code: err.code, message: err.message }
        : { code: "INTERNAL" as const, message: err instanceof Error ? err.message : String(err) };
    this.deps.logger.warn?.({ conversationId: this.id, operation, code: error.code }, error.message);
    this.deps.emitter.emit("error", { operation, error });
  }

  private emitUnread(): void {
    this.deps.emitter.emit("unread", { conversationId: this.id, lastReadSeq: this.readSeq, unreadCount: this.unread });
    this.notify();
  }

  private changed(): void {
    this.cached = undefined;
    this.deps.emitter.emit("messages", { conversationId: this.id, messages: this.messages });
    this.notify();
  }

  private notify(): void {
    for (const fn of [...this.subscribers]) {
      try {
        fn();
      } catch (err) {
        this.deps.logger.error?.({ err }, "a conversation subscriber threw");
      }
    }
  }
}

function toChat(m: Message, me: string | undefined): ChatMessage {
  return { ...m, key: `${m.senderId}/${m.clientMessageId}`, status: "sent", own: m.senderId === me };
}

function outgoingToChat(o: OutgoingMessage): ChatMessage {
  return {
    key: `${o.senderId}/${o.clientMessageId}`,
    conversationId: o.conversationId,
    senderId: o.senderId,
    senderName: o.senderName,
    clientMessageId: o.clientMessageId,
    kind: o.kind,
    body: o.body,
    ...(o.replyToId !== undefined ? { replyToId: o.replyToId } : {}),
    ...(o.attachments !== undefined ? { attachments: o.attachments } : {}),
    createdAt: o.createdAt,
    status: o.status,
    ...(o.error ? { error: o.error } : {}),
    own: true,
  };
}
