import type { ClientEventName as WireEventName, ClientPayload, ErrorBody, Message, ServerEventName, ServerPayload } from "@parley/protocol";
import { browserNetwork, onPageVisible } from "./browser-signals.js";
import { Connection, type ConnectionDeps, type SocketFactory } from "./connection.js";
import { ConversationViewImpl } from "./conversation-view.js";
import { Emitter } from "./emitter.js";
import { HttpApi } from "./http-api.js";
import { Outbox, type OutboxDeps } from "./outbox.js";
import { memoryStorage } from "./outbox-storage.js";
import { ParleyRequestError } from "./request-error.js";
import { ResumeLoop } from "./resume-loop.js";
import type { LockManagerLike } from "./tabs/leader-lock.js";
import { createTabCoordinator } from "./tabs/tab-coordinator.js";
import { TokenSource } from "./token-source.js";
import type {
  AdminApi,
  BlocksApi,
  AdminDataApi,
  ClientEventMap,
  ClientOptions,
  ConnectionStateChange,
  ConversationsApi,
  ConversationView,
  OutgoingMessage,
  ParleyClient,
  PresenceEntry,
  SendInput,
} from "./types.js";
import { randomUuid } from "./uuid.js";

/** Options only tests use: not part of the documented API. */
export interface ClientInternals {
  /** Wraps or replaces the Socket.IO socket of each connection attempt. */
  socketFactory?: SocketFactory;
  /** Randomness of the backoff (tests make it deterministic). */
  random?: () => number;
  /** Web Locks for `shareConnection` (Node has none; tests pass their own). */
  tabLocks?: LockManagerLike;
}

/** Creates a client and starts connecting. */
export function createClient(options: ClientOptions & ClientInternals): ParleyClient {
  // Without a trailing slash: HTTP paths are appended ("/v1/...").
  const urls = (typeof options.url === "string" ? [options.url] : [...options.url]).map((u) => u.replace(/\/+$/, ""));
  if (urls.length === 0) throw new Error("createClient: url is required");
  const now = options.now ?? (() => Date.now());
  const logger = options.logger ?? {};
  const storage = options.storage ?? memoryStorage();
  const pageSize = options.pageSize ?? 100;
  // Room for the newest page plus one page of scrolling back, whatever the app sets.
  const maxWindowMessages = Math.max(options.maxWindowMessages ?? 1_000, 2 * pageSize);
  const maxCatchUpMessages = options.maxCatchUpMessages ?? 500;
  const emitter = new Emitter<ClientEventMap>((event, err) => logger.error?.({ err, event: String(event) }, "a client listener threw"));
  const tokens = new TokenSource(options.getToken, now);
  const views = new Map<string, ConversationViewImpl>();
  const presence = new Map<string, PresenceEntry>();
  /** Presence events heard per user: an answer to a query sent before the latest one is older than it. */
  const presenceEvents = new Map<string, number>();
  let blocked: readonly string[] = [];
  const setBlocked = (userIds: readonly string[]) => {
    blocked = [...userIds];
    emitter.emit("blocks", { userIds: blocked });
  };
  let closing: Promise<void> | undefined;
  let outboxStarted = false;
  // One socket and one sending outbox for every tab of the browser (opt-in; tabs/).
  const tabs = options.shareConnection ? createTabCoordinator({ name: options.shareConnection.name, tabId: randomUuid(), logger, ...(options.tabLocks ? { locks: options.tabLocks } : {}) }) : undefined;

  const http = new HttpApi({
    baseUrl: () => connection.url,
    token: () => tokens.get(),
    fetch: options.fetch ?? ((...args) => globalThis.fetch(...args)),
    timeoutMs: options.ackTimeoutMs ?? 10_000,
  });

  const request = <E extends WireEventName>(event: E, payload: ClientPayload<E>) => connection.request(event, payload);
  const online = () => connection.state === "online";
  const userId = () => tokens.claims?.sub;

  const view = (id: string): ConversationViewImpl => {
    let v = views.get(id);
    if (!v) {
      v = new ConversationViewImpl(id, {
        userId,
        synced: () => resume.synced,
        request,
        online,
        http,
        outbox: { list: (cid) => outbox.list(cid), enqueue: (cid, input) => outbox.enqueue(cid, input) },
        emitter,
        logger,
        now,
        pageSize,
        maxWindowMessages,
        maxCatchUpMessages,
        receiptDelayMs: options.receiptDelayMs ?? 300,
        typingIdleMs: options.typingIdleMs ?? 2_000,
        remoteTypingExpiryMs: options.remoteTypingExpiryMs ?? 7_000,
      });
      views.set(id, v);
    }
    return v;
  };

  const outboxDeps: OutboxDeps = {
    storage,
    now,
    uuid: options.uuid ?? randomUuid,
    logger,
    retry: { baseMs: options.retry?.baseMs ?? 500, maxMs: options.retry?.maxMs ?? 30_000 },
    httpFallbackAfterMs: options.httpFallbackAfterMs ?? 5_000,
    ...(options.random ? { random: options.random } : {}),
    transport: {
      socket: (r) =>
        online()
          ? connection.request("message:send", {
              conversationId: r.conversationId,
              clientMessageId: r.clientMessageId,
              body: r.body,
              kind: r.kind,
              ...(r.replyToId !== undefined ? { replyToId: r.replyToId } : {}),
              ...(r.attachments !== undefined ? { attachments: r.attachments } : {}),
            })
          : undefined,
      http: (r) =>
        http.sendMessage(r.conversationId, {
          clientMessageId: r.clientMessageId,
          body: r.body,
          kind: r.kind,
          ...(r.replyToId !== undefined ? { replyToId: r.replyToId } : {}),
          ...(r.attachments !== undefined ? { attachments: r.attachments } : {}),
        }),
      // After `disconnect()` nothing is sent, not even over HTTP: `connect()` resumes.
      offlineSince: () => (connection.disconnected ? undefined : connection.offlineSince),
    },
    onStored: (message) => view(message.conversationId).applyOwn(message),
    onChange: (outgoing) => {
      view(outgoing.conversationId).outboxChanged();
      emitter.emit("outbox", outgoing);
    },
  };
  const outbox = tabs ? tabs.outbox(outboxDeps) : new Outbox(outboxDeps);

  const resume = new ResumeLoop({
    views: () => views.values(),
    view,
    request,
    online,
    pageSize,
    logger,
    onError: (error) => emitter.emit("error", { operation: "sync", error }),
    onResumed: () => {
      for (const v of views.values()) {
        v.flushReceipts();
        v.fetchNewestPage();
      }
    },
  });

  const onEvent = <E extends ServerEventName>(event: E, payload: ServerPayload<E>): void => {
    const p = payload as ServerPayload<ServerEventName>;
    switch (event) {
      case "message:new": {
        const m = p as Message;
        view(m.conversationId).applyLive(m);
        return;
      }
      case "message:updated": {
        const m = p as Message;
        views.get(m.conversationId)?.applyUpdate(m);
        emitter.emit("message:updated", m);
        return;
      }
      case "reaction": {
        const r = p as ServerPayload<"reaction">;
        views.get(r.conversationId)?.applyReaction(r);
        emitter.emit("reaction", r);
        return;
      }
      case "typing": {
        const t = p as ServerPayload<"typing">;
        view(t.conversationId).applyTyping(t);
        return;
      }
      case "receipt": {
        const r = p as ServerPayload<"receipt">;
        view(r.conversationId).applyReceipt(r);
        emitter.emit("receipt", r);
        return;
      }
      case "unread": {
        const u = p as ServerPayload<"unread">;
        view(u.conversationId).applyUnread(u);
        return;
      }
      case "presence": {
        const entry = p as PresenceEntry;
        presence.set(entry.userId, entry);
        presenceEvents.set(entry.userId, (presenceEvents.get(entry.userId) ?? 0) + 1);
        emitter.emit("presence", entry);
        return;
      }
      case "session:resync":
        // The server may have missed events for this socket: the same sync as after a reconnect.
        logger.info?.({ reason: (p as ServerPayload<"session:resync">).reason }, "the server asked for a sync");
        resume.run();
        return;
      case "blocks:changed":
        setBlocked((p as ServerPayload<"blocks:changed">).userIds);
        return;
      case "conversation:updated": {
        const c = p as ServerPayload<"conversation:updated">;
        // A conversation new to this client (created, or the user was added): its view starts at
        // lastSeq and fetches the page before it.
        const v = view(c.id);
        v.place(c.lastSeq);
        // A known conversation whose lastSeq is past the view's end: a message was lost in transit.
        v.noteNewestSeq(c.lastSeq);
        emitter.emit("conversation", c);
        return;
      }
    }
  };

  const connectionDeps: ConnectionDeps = {
    urls,
    tokens,
    transports: options.transports ?? ["websocket", "polling"],
    logger,
    now,
    backoff: { baseMs: options.reconnect?.baseMs ?? 500, maxMs: options.reconnect?.maxMs ?? 30_000 },
    refreshBeforeExpiryMs: options.refreshBeforeExpiryMs ?? 60_000,
    ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
    ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
    ...(options.random ? { random: options.random } : {}),
    network: "network" in options ? options.network : browserNetwork(),
    onState: (change: ConnectionStateChange) => {
      const state = change.current;
      if (state !== "online") for (const v of views.values()) v.disconnected();
      if (state === "offline" || state === "connecting") resume.stop();
      emitter.emit("state", change);
    },
    onReady: (ready) => {
      const id = ready.userId;
      if (ready.blockedUserIds) setBlocked(ready.blockedUserIds);
      emitter.emit("session", { userId: id });
      if (!outboxStarted) {
        outboxStarted = true;
        void outbox.start(id, tokens.claims?.name ?? id);
      } else outbox.wake();
      resume.run();
    },
    onEvent,
  };
  const connection = tabs ? tabs.connection(connectionDeps) : new Connection(connectionDeps);

  // The outbox can start before the socket does: the token names the user, and messages kept
  // from an earlier session may go out over HTTP when the socket cannot connect.
  void tokens
    .get()
    .then((t) => {
      const claims = tokens.claims;
      if (t && claims && !outboxStarted && !closing) {
        outboxStarted = true;
        void outbox.start(claims.sub, claims.name ?? claims.sub);
      }
    })
    .catch(() => {
      // The connection asks again and reports the failure.
    });
  connection.start();
  const stopWatchingVisibility = onPageVisible(() => {
    if (online()) resume.run();
  });

  const ask = async <E extends WireEventName>(event: E, payload: ClientPayload<E>) => {
    const answer = await request(event, payload);
    if (!answer.ok) throw new ParleyRequestError(answer.error);
    return answer;
  };
  const orThrow = <T>(res: { ok: true; data: T } | { ok: false; error: ErrorBody }): T => {
    if (!res.ok) throw new ParleyRequestError(res.error);
    return res.data;
  };

  const conversations: ConversationsApi = {
    async list() {
      const all = [];
      let cursor: string | undefined;
      do {
        const page = orThrow(await http.listConversations(cursor));
        all.push(...page.conversations);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      for (const c of all) {
        view(c.id).applyListed(c);
      }
      return all;
    },
    async create(input) {
      const { conversation } = orThrow(await http.createConversation(input));
      view(conversation.id).place(conversation.lastSeq);
      return conversation;
    },
    async get(id) {
      return orThrow(await http.getConversation(id)).conversation;
    },
    async rename(id, title) {
      return orThrow(await http.renameConversation(id, title)).conversation;
    },
    async addMembers(id, userIds) {
      return orThrow(await http.addMembers(id, userIds)).conversation;
    },
    async removeMember(id, member) {
      orThrow(await http.removeMember(id, member));
    },
    async setRetention(id, retentionDays) {
      return orThrow(await http.setRetention(id, retentionDays)).conversation;
    },
  };
  const adminData: AdminDataApi = {
    async exportUser(id) {
      return orThrow(await http.exportUser(id));
    },
    async eraseUser(id) {
      return orThrow(await http.eraseUser(id));
    },
    async job(id) {
      return orThrow(await http.getJob(id)).job;
    },
  };

  const blocks: BlocksApi = {
    get userIds() {
      return blocked;
    },
    has: (id) => blocked.includes(id),
    async list() {
      const { userIds } = orThrow(await http.listBlocks());
      setBlocked(userIds);
      return userIds;
    },
    async block(id) {
      orThrow(await http.block(id));
      if (!blocked.includes(id)) setBlocked([...blocked, id]);
    },
    async unblock(id) {
      orThrow(await http.unblock(id));
      if (blocked.includes(id)) setBlocked(blocked.filter((b) => b !== id));
    },
  };

  const iso = (t: Date | string | undefined) => (t === undefined ? undefined : typeof t === "string" ? t : t.toISOString());
  const admin: AdminApi & AdminDataApi = {
    ...adminData,
    async reports(opts = {}) {
      return orThrow(await http.adminReports(opts));
    },
    async resolve(reportId, action) {
      return orThrow(await http.adminResolve(reportId, action)).report;
    },
    async ban(id, opts = {}) {
      const until = iso(opts.until);
      orThrow(await http.adminBan(id, { ...(until ? { until } : {}), ...(opts.reason ? { reason: opts.reason } : {}) }));
    },
    async unban(id) {
      orThrow(await http.adminUnban(id));
    },
    async audit(opts = {}) {
      return orThrow(await http.adminAudit(opts));
    },
  };

  const client: ParleyClient = {
    get state() {
      return connection.state;
    },
    get stateChange() {
      return connection.stateChange;
    },
    get userId() {
      return userId();
    },
    on: (event, fn) => emitter.on(event, fn),
    send: (conversationId: string, input: SendInput | string): OutgoingMessage => view(conversationId).send(input),
    conversation: (id: string): ConversationView => view(id),
    conversations,
    async presence(userIds) {
      const heardBefore = new Map(userIds.map((id) => [id, presenceEvents.get(id) ?? 0]));
      const answer = await ask("presence:query", { userIds });
      for (const entry of answer.presence) {
        // An event heard while the query was on its way is newer than the answer: it stands.
        if ((presenceEvents.get(entry.userId) ?? 0) !== heardBefore.get(entry.userId)) continue;
        const known = presence.get(entry.userId);
        presence.set(entry.userId, entry);
        // An answer that tells something new is a change like an event (hooks and lists re-read on `presence`).
        if (known?.status !== entry.status || known.lastSeenAt !== entry.lastSeenAt) emitter.emit("presence", entry);
      }
      return answer.presence;
    },
    presenceOf: (id) => presence.get(id),
    async edit(messageId, body) {
      const { message } = await ask("message:edit", { messageId, body });
      views.get(message.conversationId)?.applyUpdate(message);
      return message;
    },
    async delete(messageId) {
      const { message } = await ask("message:delete", { messageId });
      views.get(message.conversationId)?.applyUpdate(message);
      return message;
    },
    async react(messageId, emoji) {
      await ask("reaction:add", { messageId, emoji });
    },
    async unreact(messageId, emoji) {
      await ask("reaction:remove", { messageId, emoji });
    },
    async search(q, opts = {}) {
      return orThrow(await http.search(q, opts)).messages;
    },
    blocks,
    async mute(conversationId, until) {
      orThrow(await http.mute(conversationId, iso(until)));
    },
    async unmute(conversationId) {
      orThrow(await http.unmute(conversationId));
    },
    async report(messageId, reason, note) {
      return orThrow(await http.report(messageId, { reason, ...(note !== undefined ? { note } : {}) })).reportId;
    },
    async exportData() {
      return orThrow(await http.exportMe());
    },
    admin,
    outbox: () => outbox.list(),
    retry: (id) => outbox.retry(id),
    discard: (id) => outbox.discard(id),
    reconnect: () => connection.reconnect(),
    disconnect: () => connection.disconnect(),
    connect: () => connection.connect(),
    sync() {
      if (online()) resume.run();
    },
    close() {
      closing ??= (async () => {
        // Order: stop retries and sends first, then the socket (so nothing reconnects), then
        // the views' timers, then listeners (the final `closed` state is still reported).
        stopWatchingVisibility?.();
        resume.stop();
        outbox.close();
        connection.close();
        for (const v of views.values()) v.close();
        emitter.clear();
        try {
          await storage.close?.();
        } catch (err) {
          logger.warn?.({ err }, "outbox storage close failed");
        }
      })();
      return closing;
    },
  };
  return client;
}
