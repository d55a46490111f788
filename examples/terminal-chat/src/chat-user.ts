import { createClient, ParleyRequestError, type ClientLogger, type Message, type ParleyClient, type Typist } from "@parley/client";
import { devToken } from "./dev-token.js";
import type { Inbox, UserId } from "./inbox.js";
import { bold, clock, cyan, dim, green, print, red, yellow } from "./terminal.js";

/** How long a connection, a request or a send's ack may take. */
export const TIMEOUT_MS = 10_000;

const NAMES: Record<UserId, string> = { alice: "Alice", bob: "Bob" };
const TAGS: Record<UserId, string> = { alice: cyan("alice"), bob: yellow("bob  ") };

export interface ChatUser {
  readonly id: UserId;
  /** Starts each of the user's lines: the name, coloured and aligned. */
  readonly tag: string;
  readonly client: ParleyClient;
}

/** What both users' listeners share. */
export interface Seen {
  /**
   * The group this run created. On connecting, the SDK also syncs the groups of earlier runs:
   * their messages, receipts and reactions are neither shown nor recorded.
   */
  conversationId?: string;
  inbox: Inbox;
  /** The seq of every message seen, to name messages by seq. */
  seqOf: Map<string, number>;
}

/**
 * Creates the user's client on `url` and resolves once it is online. Every event it emits is
 * printed and recorded from the start, so nothing that arrives while connecting is missed.
 */
export async function connectAs(id: UserId, url: string, seen: Seen): Promise<ChatUser> {
  // The SDK retries a failed attempt by itself and logs why: the last reason explains a timeout.
  let problem = "no answer";
  const note = (data: object, msg: string) => {
    const { err, code } = data as { err?: unknown; code?: unknown };
    problem = `${msg}${err ? `: ${String(err)}` : ""}${code ? ` (${String(code)})` : ""}`;
  };
  const logger: ClientLogger = { debug: note, warn: note, error: note };
  const client = createClient({ url, getToken: () => devToken(id, NAMES[id]), logger });
  const user: ChatUser = { id, tag: TAGS[id], client };
  listen(user, seen);

  const state = await new Promise<"online" | "unauthorized" | "timeout">((resolve) => {
    const timer = setTimeout(() => finish("timeout"), TIMEOUT_MS);
    const off = client.on("state", ({ current }) => {
      if (current === "online" || current === "unauthorized") finish(current);
    });
    function finish(outcome: "online" | "unauthorized" | "timeout") {
      clearTimeout(timer);
      off();
      resolve(outcome);
    }
  });
  if (state !== "online") {
    await client.close();
    throw new Error(
      state === "unauthorized"
        ? `${id}: ${url} refused the token (${problem})`
        : `${id}: no connection to ${url} within ${TIMEOUT_MS / 1000} s (${problem})`,
    );
  }
  print(`${user.tag} ${dim(`connected to ${url}`)}`);
  client.on("state", ({ current: s }) => {
    if (s === "offline") print(`${user.tag} ${red("disconnected; the SDK reconnects by itself")}`);
    else if (s === "online") print(`${user.tag} ${green("reconnected")}`);
    else if (s === "unauthorized") print(`${user.tag} ${red("session ended: the gateway refused the token")}`);
  });
  return user;
}

/**
 * Prints what a user receives and records it in the inbox. The SDK acknowledges delivery of
 * the others' messages by itself, which is what the senders' delivered receipts show.
 */
function listen(user: ChatUser, seen: Seen): void {
  const { client, tag } = user;
  const { inbox, seqOf } = seen;
  const ours = (e: { conversationId: string }) => e.conversationId === seen.conversationId;
  const ref = (messageId: string) => bold(seqOf.has(messageId) ? `#${seqOf.get(messageId)}` : messageId);
  let typists: readonly Typist[] = [];
  client.on("message", (m) => {
    if (!ours(m)) return;
    seqOf.set(m.id, m.seq);
    inbox.record(user.id, "message", m);
    print(`${tag} ⇐ ${bold(`#${m.seq}`)} ${m.senderName || m.senderId}: ${m.body ?? dim("(deleted)")}`);
  });
  client.on("message:updated", (m) => {
    if (!ours(m)) return;
    inbox.record(user.id, "message:updated", m);
    const change = m.deletedAt ? red("deleted") : `edited: ${m.body}`;
    print(`${tag} ⇐ ${bold(`#${m.seq}`)} ${dim("✎")} ${change}`);
  });
  client.on("reaction", (r) => {
    if (!ours(r)) return;
    inbox.record(user.id, "reaction", r);
    print(`${tag} ⇐ ${r.userId} ${r.op === "add" ? "reacted" : "took back"} ${r.emoji} ${r.op === "add" ? "to" : "on"} ${ref(r.messageId)}`);
  });
  // The SDK reports who is typing now; the lines say who started and who stopped.
  client.on("typing", (t) => {
    if (!ours(t)) return;
    inbox.record(user.id, "typing", t);
    const before = typists;
    typists = t.typists;
    for (const p of t.typists) if (!before.some((b) => b.userId === p.userId)) print(`${tag} ⇐ ${dim(`${p.userName || p.userId} is typing…`)}`);
    for (const b of before) if (!t.typists.some((p) => p.userId === b.userId)) print(`${tag} ⇐ ${dim(`${b.userName || b.userId} stopped typing`)}`);
  });
  client.on("receipt", (r) => {
    if (!ours(r)) return;
    inbox.record(user.id, "receipt", r);
    if (r.userId === user.id) return; // our own watermark, echoed to every member
    const mark = r.kind === "read" ? green("✓✓ read") : green("✓ delivered");
    print(`${tag} ⇐ ${r.userId} ${mark} up to ${bold(`#${r.seq}`)} ${dim(clock(r.at))}`);
  });
  client.on("presence", (p) => {
    inbox.record(user.id, "presence", p);
    const status = p.status === "online" ? green("is online") : `${red("went offline")}${dim(`, last seen ${clock(p.lastSeenAt)}`)}`;
    print(`${tag} ⇐ ${p.userId} ${status}`);
  });
  client.on("conversation", (c) => print(`${tag} ${dim(`⇐ conversation "${c.title ?? c.id}" updated`)}`));
}

/** Runs one SDK request: its answer, or undefined after printing why it was refused. */
export async function attempt<T>(user: ChatUser, what: string, request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch (error) {
    const why = error instanceof ParleyRequestError ? `${error.code} ${error.message}` : error instanceof Error ? error.message : String(error);
    print(`${user.tag} ${red(`✗ ${what} refused: ${why}`)}`);
    return undefined;
  }
}

/**
 * Sends through the SDK's outbox and waits for the ack (sent only once the message is
 * durable): the stored message, or undefined after printing why there is none.
 */
export async function send(user: ChatUser, conversationId: string, body: string): Promise<Message | undefined> {
  const started = Date.now();
  const outgoing = user.client.send(conversationId, body);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = await Promise.race([outgoing.settled, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), TIMEOUT_MS)))]);
  clearTimeout(timer);
  if (!settled) {
    print(`${user.tag} ${red(`✗ message:send: no ack within ${TIMEOUT_MS / 1000} s (the outbox keeps retrying)`)}`);
    return undefined;
  }
  if (!settled.message) {
    print(`${user.tag} ${red(`✗ message:send refused: ${settled.error?.code} ${settled.error?.message ?? ""}`)}`);
    return undefined;
  }
  const { seq, id } = settled.message;
  print(`${user.tag} ${green("✓ ack")} ${bold(`#${seq}`)} ${dim(`${id} in ${Date.now() - started} ms`)}`);
  return settled.message;
}

/** Searches one conversation and prints what was found. */
export async function search(user: ChatUser, conversationId: string, q: string): Promise<Message[] | undefined> {
  const messages = await attempt(user, "search", () => user.client.search(q, { conversationId }));
  if (!messages) return undefined;
  print(`${user.tag} ${dim(`🔍 "${q}":`)} ${messages.length} found`);
  for (const m of messages) print(`        ${bold(`#${m.seq}`)} ${m.senderName || m.senderId}: ${m.body}`);
  return messages;
}
