import type {
  AdminJob,
  Attachment,
  Conversation,
  ConversationKind,
  ConversationSummary,
  ErrorBody,
  ExportLine,
  Message,
  MessageKind,
  AuditEntry,
  Report,
  ReportAction,
  ReportReason,
  ServerPayload,
} from "@parley/protocol";
import type { OutboxStorage } from "./outbox-storage.js";

export type { AdminJob, Attachment, AuditEntry, Conversation, ConversationKind, ConversationSummary, ErrorBody, ExportLine, Message, MessageKind, Report, ReportAction, ReportReason };

/**
 * Where the connection stands:
 * - `connecting`: a handshake is under way (the first one, or a reconnection);
 * - `online`: `session:ready` arrived; events flow and the outbox drains over the socket;
 * - `offline`: no socket; a reconnection is scheduled (full-jitter backoff), and the outbox
 *   falls back to HTTP once the socket has failed for `httpFallbackAfterMs`;
 * - `unauthorized`: `getToken` answered `null` (signed out), or the server refused a fresh
 *   token; nothing is retried until `client.reconnect()`;
 * - `closed`: `close()` was called.
 */
export type ConnectionState = "connecting" | "online" | "offline" | "unauthorized" | "closed";

/**
 * Why the connection state changed:
 * - `start`: `createClient` or `connect()` began connecting;
 * - `ready`: `session:ready` arrived;
 * - `retry`: a scheduled reconnection attempt began;
 * - `reconnect`: `reconnect()` was called;
 * - `network-online`: the platform said the network is back (browser `online`, NetInfo);
 * - `connect-failed`: the handshake failed (gateway away, refused with UNAVAILABLE, timed out);
 * - `disconnected`: an established socket dropped (server drain, network, ping timeout);
 * - `network-offline`: the platform said the network is gone; the socket was dropped at once;
 * - `token-failed`: `getToken` threw (retried with backoff);
 * - `signed-out`: `getToken` answered `null`;
 * - `token-refused`: the gateway refused a token fresh from `getToken`;
 * - `banned`: the handshake was refused AUTH_BANNED (`reconnect()` tries again, e.g. once the ban ends);
 * - `disconnect`: `disconnect()` was called (nothing reconnects until `connect()`);
 * - `closed`: `close()` was called.
 */
export type ConnectionStateReason =
  | "start"
  | "ready"
  | "retry"
  | "reconnect"
  | "network-online"
  | "connect-failed"
  | "disconnected"
  | "network-offline"
  | "token-failed"
  | "signed-out"
  | "token-refused"
  | "banned"
  | "disconnect"
  | "closed";

/** The `state` event: one change of the connection state. */
export interface ConnectionStateChange {
  current: ConnectionState;
  /** The state before this change (`connecting` for the first event of a client). */
  previous: ConnectionState;
  reason: ConnectionStateReason;
  /** `offline` with a reconnection scheduled: in how many ms it starts (absent otherwise, e.g. after `disconnect()`). */
  retryInMs?: number;
}

/**
 * The platform's word on the network (default: the browser's `navigator.onLine` with its
 * `online`/`offline` events; none in Node). The React Native entry passes NetInfo's.
 */
export interface NetworkSignal {
  /** True when the platform knows there is no network (then no connection is attempted). */
  isOffline(): boolean;
  /** Calls `fn(true)` when the network returns, `fn(false)` when it goes; returns the unsubscribe. */
  subscribe(fn: (online: boolean) => void): () => void;
}

/** pino-compatible (`logger.warn(obj, msg)`); every method optional. */
export interface ClientLogger {
  debug?(data: object, msg: string): void;
  info?(data: object, msg: string): void;
  warn?(data: object, msg: string): void;
  error?(data: object, msg: string): void;
}

export interface ClientOptions {
  /**
   * The gateway (load balancer) base URL, e.g. `https://chat.example.com`. Several URLs: the
   * client moves to the next one when a connection attempt fails (the load balancer's job in
   * production; handy for local clusters and tests).
   */
  url: string | readonly string[];
  /**
   * Returns a JWT for the user. Called at start, again shortly before the token's `exp`
   * (then sent with `auth:refresh`), and after the server says the token expired. Return
   * `null` when the user is signed out (the state becomes `unauthorized`); a throw counts as
   * a transient failure (retried with backoff).
   */
  getToken: () => Promise<string | null> | string | null;
  /** Durable outbox (default: memory; `indexedDbStorage()` in browsers, `fileStorage()` from `@parley/client/node`). */
  storage?: OutboxStorage;
  /**
   * Socket.IO transports (default `["websocket", "polling"]`: the WebSocket, and long-polling
   * when the WebSocket cannot open; polling needs session affinity at the load balancer).
   * `["websocket"]` never polls.
   */
  transports?: ("websocket" | "polling")[];
  /**
   * One socket for all the tabs of this browser that pass the same `name` (opt-in; name it per
   * user, e.g. `parley:${userId}`): one tab holds the socket (a Web Lock), the others use it
   * over a BroadcastChannel, and the outbox is shared (pass the same `indexedDbStorage` name in
   * every tab). Where Web Locks or BroadcastChannel are missing, the client connects on its own.
   */
  shareConnection?: { name: string };
  logger?: ClientLogger;
  /** Wall clock in ms (default `Date.now`); timers use the global `setTimeout`. */
  now?: () => number;
  /** HTTP (default the global `fetch`). */
  fetch?: typeof fetch;
  /** Makes clientMessageIds (default: `crypto.randomUUID`, else a v4 UUID from `crypto.getRandomValues`). */
  uuid?: () => string;
  /** Reconnection backoff: delay = random(0, min(maxMs, baseMs · 2^attempt)). Defaults 500 ms, 30 s. */
  reconnect?: { baseMs?: number; maxMs?: number };
  /** Outbox retry backoff for transient refusals (same formula; `retryAfterMs` is a floor). Defaults 500 ms, 30 s. */
  retry?: { baseMs?: number; maxMs?: number };
  /** Refresh the token this long before its `exp` (default 60 s, or a third of its lifetime when shorter). */
  refreshBeforeExpiryMs?: number;
  /** The outbox sends over HTTP once the socket has been unable to connect for this long (default 5,000 ms; 0 disables). */
  httpFallbackAfterMs?: number;
  /** How long to wait for an ack before treating the request as lost (default 10,000 ms). */
  ackTimeoutMs?: number;
  /** Typing stops after this much idle input (default 2,000 ms). */
  typingIdleMs?: number;
  /** A remote typist is dropped when not refreshed for this long (default 7,000 ms: the server's 6 s plus margin). */
  remoteTypingExpiryMs?: number;
  /** Messages per `sync`/history page (default 100). */
  pageSize?: number;
  /** Delivered/read watermarks of a conversation are coalesced for this long before one is sent (default 300 ms). */
  receiptDelayMs?: number;
  /**
   * Most stored messages a conversation view holds (default 1,000; at least twice `pageSize`).
   * Past it the view drops messages from the end away from where the app is reading: the
   * oldest ones while it follows the newest (`hasOlder` becomes true), the newest ones after
   * `loadOlder` (`hasNewer` becomes true).
   */
  maxWindowMessages?: number;
  /**
   * A view further behind its conversation than this many messages does not page forward to
   * catch up: it emits `discontinuity` and reopens at the newest page (default 500).
   */
  maxCatchUpMessages?: number;
  /** Network availability (default: the browser's; none in Node). */
  network?: NetworkSignal;
}

/** Send input: everything of `message:send` but the ids, which the SDK makes. */
export interface SendInput {
  body: string;
  kind?: Exclude<MessageKind, "system">;
  replyToId?: string;
  attachments?: Attachment[];
}

export type MessageStatus = "pending" | "sent" | "failed";

/** An own message from `send()` until it is stored (or refused for good). */
export interface OutgoingMessage {
  clientMessageId: string;
  conversationId: string;
  senderId: string;
  /** From the token's `name` claim until the server's copy arrives. */
  senderName: string;
  kind: Exclude<MessageKind, "system">;
  body: string;
  replyToId?: string;
  attachments?: Attachment[];
  /** When `send()` was called (ISO 8601); the stored message's `createdAt` replaces it. */
  createdAt: string;
  status: MessageStatus;
  /** Why it failed (`status: "failed"`): VALIDATION, FORBIDDEN, CONFLICT, PAYLOAD_TOO_LARGE, ... */
  error?: ErrorBody;
  /** The stored message once `status` is `sent`. */
  message?: Message;
  /** Resolves once the message is `sent` or `failed` (never rejects). */
  settled: Promise<OutgoingMessage>;
}

/**
 * One row of a conversation's message list: a stored message (`status: "sent"`, with `id`
 * and `seq`) or an own message not stored yet (`pending` or `failed`, no `id`/`seq`).
 */
export interface ChatMessage {
  /** Stable across pending → sent (senderId + clientMessageId): use it as the UI key. */
  key: string;
  id?: string;
  seq?: number;
  conversationId: string;
  senderId: string;
  senderName: string;
  clientMessageId: string;
  kind: MessageKind;
  /** `null` for a deleted message (a tombstone). */
  body: string | null;
  replyToId?: string;
  attachments?: Attachment[];
  createdAt: string;
  editedAt?: string;
  deletedAt?: string;
  reactions?: { emoji: string; userIds: string[] }[];
  status: MessageStatus;
  error?: ErrorBody;
  /** Sent by this user (on any device). */
  own: boolean;
}

export interface Typist {
  userId: string;
  userName: string;
}

export type PresenceStatus = "online" | "offline";
export interface PresenceEntry {
  userId: string;
  status: PresenceStatus;
  lastSeenAt?: string;
}

/** Another member's watermarks in a conversation. */
export interface MemberReceipts {
  userId: string;
  deliveredSeq: number;
  readSeq: number;
}

/** The client's events (`client.on(name, fn)`); every listener gets one payload. */
export interface ClientEventMap {
  /** The connection state changed: `{ current, previous, reason, retryInMs }`. */
  state: ConnectionStateChange;
  /** `session:ready`: the socket is authenticated as this user. */
  session: { userId: string };
  /** A message entered a conversation store for the first time (live, sync, gap fill or own send). */
  message: Message;
  /** A conversation's message list changed (new, reconciled, updated, older page, failed). */
  messages: { conversationId: string; messages: readonly ChatMessage[] };
  /** An edit or deletion (tombstone: `body: null`). */
  "message:updated": Message;
  reaction: ServerPayload<"reaction">;
  /** Remote typists of a conversation changed (started, stopped, expired). */
  typing: { conversationId: string; typists: readonly Typist[] };
  presence: PresenceEntry;
  receipt: ServerPayload<"receipt">;
  /** A conversation's unread count or read watermark changed (any cause, this device or another). */
  unread: { conversationId: string; lastReadSeq: number; unreadCount: number };
  /** Created, renamed or membership changed (`conversation:updated`). */
  conversation: Conversation;
  /** An own message changed status (pending → sent | failed). */
  outbox: OutgoingMessage;
  /**
   * A view was more than `maxCatchUpMessages` behind its conversation (a long absence, or a
   * lost last message far ahead): it dropped its window and reopened at the newest page
   * instead of fetching everything in between. Messages `fromSeq + 1 … toSeq − pageSize` were
   * skipped (they stay reachable with `loadOlder`); an app shows "new messages above" or scrolls
   * to the end.
   */
  discontinuity: { conversationId: string; fromSeq: number; toSeq: number };
  /** Something went wrong that the SDK handles by itself (logged too); for diagnostics. */
  error: { operation: string; error: ErrorBody };
  /** Whom this user blocks, whenever it is learnt (session:ready) or changes (on any device). */
  blocks: { userIds: readonly string[] };
}
export type ClientEventName = keyof ClientEventMap;
export type Unsubscribe = () => void;

/** One conversation's live view. Get it with `client.conversation(id)`; it stays current by itself. */
export interface ConversationView {
  readonly id: string;
  /** Stored messages ascending by `seq` (no duplicates, no gaps inside the window), then own pending/failed ones in send order. */
  readonly messages: readonly ChatMessage[];
  /** The view holds the conversation's newest page (from a sync, or fetched by itself): `messages` reflect the server from here on. */
  readonly loaded: boolean;
  /** Highest seq known to be stored (every seq up to it is in the window or older than it). */
  readonly lastSeq: number;
  /** There are older messages than the window's first one (`loadOlder()` fetches them). */
  readonly hasOlder: boolean;
  /**
   * The window stops before the conversation's newest messages (after `loadAround`, or after
   * `loadOlder` past `maxWindowMessages`): `loadNewer()` fetches the next page, and live
   * messages are counted but not added until the window reaches the end again.
   */
  readonly hasNewer: boolean;
  /** The conversation's highest seq as far as this client knows (live messages, receipts, sync, `conversation:updated`). */
  readonly newestSeq: number;
  readonly lastReadSeq: number;
  readonly unreadCount: number;
  /** Remote members typing now. */
  readonly typing: readonly Typist[];
  /** Other members' delivered/read watermarks, as far as known (live receipts and `members()`). */
  readonly receipts: readonly MemberReceipts[];
  /** Who has received and who has read the message with this seq (other members, as far as known): for ticks. */
  receiptFor(seq: number): { deliveredTo: string[]; readBy: string[] };
  /** Fetches the page before the window (`limit` default pageSize); resolves with the number of messages added. */
  loadOlder(limit?: number): Promise<number>;
  /** Fetches the page after the window (when `hasNewer`); resolves with the number of messages added. */
  loadNewer(limit?: number): Promise<number>;
  /**
   * Replaces the window with the messages around `seq` (about half before, half after; `limit`
   * default pageSize): for opening a search hit in context. Then `loadOlder`/`loadNewer` page
   * from there; `hasNewer` says whether the window reaches the end.
   */
  loadAround(seq: number, limit?: number): Promise<void>;
  /**
   * The app showed the message with this seq (and so everything before it): the SDK sends
   * the read watermark (coalesced), and lowers the unread count at once.
   */
  markShown(seq: number): void;
  /** Call on every keystroke: sends `typing:start` (renewed while typing) and `typing:stop` after the idle delay. */
  input(): void;
  /** Stops typing now (also done by `send`). */
  stopTyping(): void;
  send(input: SendInput | string): OutgoingMessage;
  /** Loads the members and their watermarks (HTTP `GET /v1/conversations/:id`). */
  members(): Promise<Conversation>;
  /** Calls `fn` after every change of this view (messages, typing, unread, receipts): for `useSyncExternalStore`. */
  subscribe(fn: () => void): Unsubscribe;
}

export interface ConversationsApi {
  /** `GET /v1/conversations`, every page (with unread counts; also seeds the views' unread state). */
  list(): Promise<ConversationSummary[]>;
  create(input: { kind: ConversationKind; memberIds: string[]; title?: string }): Promise<Conversation>;
  get(id: string): Promise<Conversation>;
  rename(id: string, title: string): Promise<Conversation>;
  addMembers(id: string, userIds: string[]): Promise<Conversation>;
  removeMember(id: string, userId: string): Promise<void>;
  /**
   * `PATCH /v1/conversations/:id { retentionDays }` (owner or admin): messages older than this
   * many days become tombstones; `null` goes back to the server's MESSAGE_RETENTION_DAYS.
   */
  setRetention(id: string, retentionDays: number | null): Promise<Conversation>;
}

/** Administration of users' data (a token with `parley_role: "admin"`; others get FORBIDDEN). */
export interface AdminDataApi {
  /** `GET /v1/admin/users/:userId/export`: that user's data, line by line, as `exportData()`. */
  exportUser(userId: string): Promise<AsyncIterable<ExportLine>>;
  /** `DELETE /v1/admin/users/:userId`: starts the erasure; follow it with `job(jobId)`. */
  eraseUser(userId: string): Promise<{ jobId: string }>;
  /** `GET /v1/admin/jobs/:id`: a background job's state and progress. */
  job(id: string): Promise<AdminJob>;
}

/** Blocks (protocol.md v1.1, "Safety"): whom this user blocks, kept current from the server. */
export interface BlocksApi {
  /** The last known list (session:ready, `blocks:changed`, or `list()`); hide these users' messages. */
  readonly userIds: readonly string[];
  has(userId: string): boolean;
  /** `GET /v1/blocks`. */
  list(): Promise<string[]>;
  block(userId: string): Promise<void>;
  unblock(userId: string): Promise<void>;
}

/** The administration routes; every call needs a token whose `parley_role` is "admin" (else FORBIDDEN). */
export interface AdminApi {
  reports(options?: { status?: "open" | "resolved"; cursor?: string; limit?: number }): Promise<{ reports: Report[]; nextCursor: string | null }>;
  resolve(reportId: string, action: ReportAction): Promise<Report>;
  ban(userId: string, options?: { until?: Date | string; reason?: string }): Promise<void>;
  unban(userId: string): Promise<void>;
  audit(options?: { cursor?: string; limit?: number }): Promise<{ entries: AuditEntry[]; nextCursor: string | null }>;
}

export interface ParleyClient {
  readonly state: ConnectionState;
  /** The latest state change (the payload of the last `state` event): for `useSyncExternalStore`. */
  readonly stateChange: ConnectionStateChange;
  /** The user of the current token (from its `sub`), once known. */
  readonly userId: string | undefined;
  on<E extends ClientEventName>(event: E, fn: (payload: ClientEventMap[E]) => void): Unsubscribe;
  /** Queues an own message (durably) and returns the optimistic copy at once. */
  send(conversationId: string, input: SendInput | string): OutgoingMessage;
  /** The live view of one conversation (created on first use, then the same object). */
  conversation(id: string): ConversationView;
  readonly conversations: ConversationsApi;
  /** Queries presence (only users sharing a conversation are answered); an answer that differs from what was known is also emitted as a `presence` event, and later changes arrive as events. */
  presence(userIds: string[]): Promise<PresenceEntry[]>;
  /** Last known presence of a user (from queries and events). */
  presenceOf(userId: string): PresenceEntry | undefined;
  edit(messageId: string, body: string): Promise<Message>;
  delete(messageId: string): Promise<Message>;
  react(messageId: string, emoji: string): Promise<void>;
  unreact(messageId: string, emoji: string): Promise<void>;
  search(q: string, options?: { conversationId?: string; limit?: number }): Promise<Message[]>;
  readonly blocks: BlocksApi;
  /** No push notifications from this conversation (until `until`, or until unmuted); unread still counts. */
  mute(conversationId: string, until?: Date | string): Promise<void>;
  unmute(conversationId: string): Promise<void>;
  /** Reports a message this user can see; answers the report's id (the first one's, if reported before). */
  report(messageId: string, reason: ReportReason, note?: string): Promise<string>;
  /**
   * `GET /v1/me/export`: the user's data, one line at a time as it streams in (profile,
   * memberships, messages, reactions, …, then `end`). Iterating throws if the stream is cut.
   */
  exportData(): Promise<AsyncIterable<ExportLine>>;
  readonly admin: AdminApi & AdminDataApi;
  /** Own messages not yet stored, oldest first (pending and failed). */
  outbox(): readonly OutgoingMessage[];
  /** Sends a failed message again (same clientMessageId). */
  retry(clientMessageId: string): void;
  /** Drops a pending or failed message from the outbox. */
  discard(clientMessageId: string): Promise<void>;
  /** Reconnects now (after `unauthorized`, or to skip the backoff wait). */
  reconnect(): void;
  /**
   * Lets the socket go and stops reconnecting (an app in the background, a user going
   * offline on purpose). Views, their messages and the outbox stay: `send()` still queues
   * (durably), and nothing is sent until `connect()`.
   */
  disconnect(): void;
  /** Connects again after `disconnect()` (then syncs every view and drains the outbox, as after any reconnect). */
  connect(): void;
  /**
   * Asks the server now for what this client missed (the same `sync` as after a reconnect),
   * when online: an app coming back to the foreground calls it (the SDK does in browsers when
   * the page becomes visible again), so a last message lost in transit shows without waiting
   * for the next event.
   */
  sync(): void;
  /** Disconnects, stops every timer and listener. Safe to call twice. */
  close(): Promise<void>;
}
