#!/usr/bin/env node
// `npm run chat`: a terminal demo against a running cluster (`npm start`).
// bob connects to gateway :3001, alice creates a group with him and connects to :3000.
//
//   interactive (a terminal): type as alice; "/help" lists the commands ("/bob TEXT" speaks
//   as bob, "/edit", "/react", "/read", "/search", "/who"); "/quit" or Ctrl-D ends.
//   --demo, or stdin not a terminal: a scripted tour of the contract across the two gateways
//   (presence, typing, messages, delivered and read receipts, unread count, an edit, a
//   reaction, search, bob going offline); exits 0 when everything was seen, 1 otherwise
//   with what was not.
// Options: --a=URL --b=URL (gateways, default http://localhost:3000 and :3001).
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { bold, cyan, dim, green, red, yellow } from "./lib.mjs";
import { devToken } from "./token.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const DEMO = args.includes("--demo") || !process.stdin.isTTY;
const GATEWAY_A = option("a", "http://localhost:3000");
const GATEWAY_B = option("b", "http://localhost:3001");
const TIMEOUT_MS = 10_000;
/** How long the demo waits for one live event (they take milliseconds; presence up to a flush, 1 s). */
const EVENT_TIMEOUT_MS = 5_000;
/**
 * The delivery service announces "offline" only after PRESENCE_OFFLINE_GRACE_MS (2 s) and
 * announces once per PRESENCE_FLUSH_MS (1 s): a user back within that announces nothing.
 * 3.5 s covers both with a margin; 8 s is the limit for seeing it happen.
 */
const OFFLINE_SETTLE_MS = 3_500;
const OFFLINE_TIMEOUT_MS = 8_000;

const who = { alice: cyan("alice"), bob: yellow("bob  ") };
const print = (text) => process.stdout.write(`${text}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const clock = (iso) => (iso ? new Date(iso).toTimeString().slice(0, 8) : "?"); // local time

/** Every event each user received, so the demo can wait for one whether it came before or after it asks. */
class Inbox {
  #seen = [];
  #waiters = new Set();

  record(userId, event, payload) {
    this.#seen.push({ userId, event, payload });
    for (const waiter of this.#waiters) if (waiter.userId === userId && waiter.event === event && waiter.match(payload)) waiter.done(payload);
  }

  /** Resolves with the first matching payload, or undefined after `ms`. */
  waitFor(userId, event, match = () => true, ms = EVENT_TIMEOUT_MS) {
    const found = this.#seen.find((e) => e.userId === userId && e.event === event && match(e.payload));
    if (found) return Promise.resolve(found.payload);
    return new Promise((resolve) => {
      const waiter = { userId, event, match };
      const timer = setTimeout(() => waiter.done(undefined), ms);
      waiter.done = (payload) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve(payload);
      };
      this.#waiters.add(waiter);
    });
  }
}

async function connectAs(user, url) {
  const { io } = await import("socket.io-client");
  const socket = io(url, { auth: { token: user.token }, transports: ["websocket"], reconnectionAttempts: 5 });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${user.userId}: no connection to ${url} within ${TIMEOUT_MS / 1000} s`)), TIMEOUT_MS);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      const code = error.data?.code ? ` (${error.data.code})` : "";
      reject(new Error(`${user.userId}: could not connect to ${url}: ${error.message}${code}`));
    });
  });
  print(`${who[user.userId]} ${dim(`connected to ${url} as socket ${socket.id}`)}`);
  user.socket = socket;
  return socket;
}

async function http(user, url, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body ? { "content-type": "application/json" } : {}), authorization: `Bearer ${user.token}` },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(answer.error ?? answer)}`);
  return answer;
}

async function createGroup(alice, url) {
  const { conversation } = await http(alice, url, "POST", "/v1/conversations", { kind: "group", memberIds: ["bob"], title: "demo" });
  if (!conversation?.id) throw new Error("POST /v1/conversations answered no conversation");
  return conversation;
}

/** Emits with an ack; answers the ack's fields, or undefined after printing why it failed. */
async function call(user, event, payload) {
  try {
    const ack = await user.socket.timeout(TIMEOUT_MS).emitWithAck(event, payload);
    if (ack?.ok) return ack;
    print(`${who[user.userId]} ${red(`✗ ${event} refused: ${ack?.error?.code} ${ack?.error?.message ?? ""}`)}`);
  } catch (error) {
    print(`${who[user.userId]} ${red(`✗ ${event}: no ack within ${TIMEOUT_MS / 1000} s (${error.message})`)}`);
  }
  return undefined;
}

/**
 * Prints what a user receives and records it in the inbox. Like a real client, each user
 * acknowledges delivery of the others' messages (`message:delivered`).
 */
function listen(user, chat) {
  const { inbox, seqOf } = chat;
  const me = who[user.userId];
  const seen = new Set();
  const ref = (messageId) => bold(seqOf.has(messageId) ? `#${seqOf.get(messageId)}` : messageId);
  user.socket.on("message:new", (message) => {
    if (seen.has(message.id)) return; // the same message can arrive twice (dedupe by id)
    seen.add(message.id);
    seqOf.set(message.id, message.seq);
    inbox.record(user.userId, "message:new", message);
    print(`${me} ⇐ ${bold(`#${message.seq}`)} ${message.senderName ?? message.senderId}: ${message.body}`);
    if (message.senderId !== user.userId) void call(user, "message:delivered", { conversationId: message.conversationId, seq: message.seq });
  });
  user.socket.on("message:updated", (message) => {
    inbox.record(user.userId, "message:updated", message);
    const change = message.deletedAt ? red("deleted") : `edited: ${message.body}`;
    print(`${me} ⇐ ${bold(`#${message.seq}`)} ${dim("✎")} ${change}`);
  });
  user.socket.on("reaction", (r) => {
    inbox.record(user.userId, "reaction", r);
    print(`${me} ⇐ ${r.userId} ${r.op === "add" ? "reacted" : "took back"} ${r.emoji} ${r.op === "add" ? "to" : "on"} ${ref(r.messageId)}`);
  });
  user.socket.on("typing", (t) => {
    inbox.record(user.userId, "typing", t);
    print(`${me} ⇐ ${dim(t.isTyping ? `${t.userName ?? t.userId} is typing…` : `${t.userName ?? t.userId} stopped typing`)}`);
  });
  user.socket.on("receipt", (r) => {
    inbox.record(user.userId, "receipt", r);
    if (r.userId === user.userId) return; // our own watermark, echoed to every member
    const mark = r.kind === "read" ? green("✓✓ read") : green("✓ delivered");
    print(`${me} ⇐ ${r.userId} ${mark} up to ${bold(`#${r.seq}`)} ${dim(clock(r.at))}`);
  });
  user.socket.on("unread", (u) => {
    inbox.record(user.userId, "unread", u);
    print(`${me} ⇐ ${dim(`unread ${u.unreadCount} (read up to #${u.lastReadSeq} on another device)`)}`);
  });
  user.socket.on("presence", (p) => {
    inbox.record(user.userId, "presence", p);
    const status = p.status === "online" ? green("is online") : `${red("went offline")}${dim(`, last seen ${clock(p.lastSeenAt)}`)}`;
    print(`${me} ⇐ ${p.userId} ${status}`);
  });
  user.socket.on("conversation:updated", (c) => print(`${me} ${dim(`⇐ conversation:updated "${c.title ?? c.id}"`)}`));
  user.socket.on("disconnect", (reason) => print(`${me} ${red(`disconnected: ${reason}`)}`));
  user.socket.on("session:expired", () => print(`${me} ${red("session expired")}`));
}

async function send(user, conversationId, body) {
  const started = Date.now();
  const ack = await call(user, "message:send", { conversationId, clientMessageId: randomUUID(), body });
  if (!ack) return undefined;
  const ms = Date.now() - started;
  print(`${who[user.userId]} ${green("✓ ack")} ${bold(`#${ack.message.seq}`)} ${dim(`${ack.message.id} in ${ms} ms${ack.duplicate ? " (duplicate)" : ""}`)}`);
  return ack.message;
}

async function search(user, conversationId, q) {
  const params = new URLSearchParams({ q, ...(conversationId ? { conversationId } : {}) });
  const { messages } = await http(user, GATEWAY_A, "GET", `/v1/search?${params}`);
  print(`${who[user.userId]} ${dim(`🔍 "${q}":`)} ${messages.length} found`);
  for (const m of messages) print(`        ${bold(`#${m.seq}`)} ${m.senderName ?? m.senderId}: ${m.body}`);
  return messages;
}

/** The unread count of one conversation, as `sync` reports it. */
async function unreadCount(user, conversationId) {
  const ack = await call(user, "sync", { limit: 1 });
  return ack?.conversations.find((c) => c.id === conversationId)?.unreadCount;
}

/**
 * bob asks whether alice is online before she connects: she may still be connected from
 * elsewhere, or have left an earlier run so recently that her offline is not announced
 * yet (then coming back announces nothing). Waits that out where it can.
 */
async function letAlicePresenceSettle(bob) {
  const query = async () => (await call(bob, "presence:query", { userIds: ["alice"] }))?.presence.find((p) => p.userId === "alice");
  let alice = await query();
  for (let waited = 0; alice?.status === "online" && waited < OFFLINE_SETTLE_MS; waited += 250) {
    await sleep(250);
    alice = await query();
  }
  if (alice?.status === "online") {
    print(`${who.bob} ${yellow("⚠ alice is already online elsewhere (another npm run chat?): her coming online cannot be shown")}`);
    return;
  }
  const left = alice?.lastSeenAt ? Date.now() - Date.parse(alice.lastSeenAt) : Infinity;
  if (left < OFFLINE_SETTLE_MS) {
    const wait = OFFLINE_SETTLE_MS - Math.max(0, left);
    print(dim(`  alice left ${(Math.max(0, left) / 1000).toFixed(1)} s ago (an earlier run); waiting ${(wait / 1000).toFixed(1)} s for her offline to be announced first`));
    await sleep(wait);
  }
}

async function demo(chat) {
  const { alice, bob, conversationId, inbox } = chat;
  const checks = [];
  const check = (what, seen) => {
    checks.push({ what, ok: Boolean(seen) });
    if (!seen) print(red(`  ✗ not seen: ${what}`));
    return seen;
  };
  const section = (title) => print(dim(`\n── ${title}`));
  const inConversation = (e) => e.conversationId === conversationId;

  section("presence: alice connects to the other gateway");
  await letAlicePresenceSettle(bob);
  await connectAs(alice, GATEWAY_A);
  listen(alice, chat);
  check("bob sees alice come online (presence)", await inbox.waitFor("bob", "presence", (p) => p.userId === "alice" && p.status === "online"));

  section("typing");
  await call(alice, "typing:start", { conversationId });
  check('bob sees "Alice is typing…"', await inbox.waitFor("bob", "typing", (t) => inConversation(t) && t.userId === "alice" && t.isTyping));
  await sleep(800);
  await call(alice, "typing:stop", { conversationId });
  check("bob sees that alice stopped typing", await inbox.waitFor("bob", "typing", (t) => inConversation(t) && t.userId === "alice" && !t.isTyping));

  section("messages: each acked once durable, delivered to both users on both gateways");
  const script = [
    [alice, "hi bob, this went through gateway :3000"],
    [bob, "hi alice, and this one through :3001"],
    [alice, "every message has a seq: no gaps, no repeats"],
    [alice, "bye!"],
  ];
  const sent = [];
  for (const [user, text] of script) {
    const message = await send(user, conversationId, text);
    if (message) sent.push(message);
    await sleep(200);
  }
  check(`${script.length} messages acked`, sent.length === script.length);
  for (const m of sent) {
    for (const user of ["alice", "bob"]) check(`${user} receives #${m.seq}`, await inbox.waitFor(user, "message:new", (n) => n.id === m.id));
  }
  const lastSeq = Math.max(0, ...sent.map((m) => m.seq));

  section("receipts and unread count");
  check(`alice sees bob's delivered receipt up to #${lastSeq}`, await inbox.waitFor("alice", "receipt", (r) => inConversation(r) && r.userId === "bob" && r.kind === "delivered" && r.seq >= lastSeq));
  const unread = await unreadCount(bob, conversationId);
  const expectedUnread = sent.filter((m) => m.senderId !== "bob").length;
  print(`${who.bob} ${dim("sync:")} ${bold(String(unread))} unread in "demo"`);
  check(`bob's unread count is ${expectedUnread} before reading`, unread === expectedUnread);
  const read = await call(bob, "message:read", { conversationId, seq: lastSeq });
  if (read) print(`${who.bob} ${green("✓✓ read")} up to ${bold(`#${read.lastReadSeq}`)}, unread now ${bold(String(read.unreadCount))}`);
  check("bob's unread count is 0 after reading", read?.unreadCount === 0);
  check(`alice sees bob's read receipt up to #${lastSeq}`, await inbox.waitFor("alice", "receipt", (r) => inConversation(r) && r.userId === "bob" && r.kind === "read" && r.seq >= lastSeq));

  section("an edit and a reaction, seen on both gateways");
  const toEdit = sent.find((m) => m.body.startsWith("every message"));
  const fromBob = sent.find((m) => m.senderId === "bob");
  if (toEdit) {
    const edited = await call(alice, "message:edit", { messageId: toEdit.id, body: `${toEdit.body}, ever` });
    if (edited) print(`${who.alice} ${green("✓ edited")} ${bold(`#${edited.message.seq}`)} ${dim(`at ${clock(edited.message.editedAt)}`)}`);
  }
  for (const user of ["alice", "bob"]) check(`${user} sees alice's edit`, toEdit && (await inbox.waitFor(user, "message:updated", (m) => m.id === toEdit.id && m.editedAt)));
  if (fromBob && (await call(alice, "reaction:add", { messageId: fromBob.id, emoji: "👍" }))) print(`${who.alice} ${green("✓ reacted")} 👍 to ${bold(`#${fromBob.seq}`)}`);
  for (const user of ["alice", "bob"]) {
    check(`${user} sees alice's reaction`, fromBob && (await inbox.waitFor(user, "reaction", (r) => r.messageId === fromBob.id && r.userId === "alice" && r.op === "add")));
  }

  section("search (finds the edited message by its new text)");
  const found = await search(alice, conversationId, "ever").catch((error) => print(red(`  ✗ ${error.message}`)));
  check('search for "ever" finds the edited message', toEdit && found?.some((m) => m.id === toEdit.id));

  section("bob disconnects; alice sees him go offline");
  bob.socket.off("disconnect");
  bob.socket.close();
  print(`${who.bob} ${dim("closed his socket")}`);
  const started = Date.now();
  const offline = await inbox.waitFor("alice", "presence", (p) => p.userId === "bob" && p.status === "offline", OFFLINE_TIMEOUT_MS);
  if (offline) print(dim(`  announced ${((Date.now() - started) / 1000).toFixed(1)} s after he left (the delivery service waits out a ~2 s grace)`));
  check(`alice sees bob go offline within ${OFFLINE_TIMEOUT_MS / 1000} s (is the delivery service running?)`, offline);

  const failed = checks.filter((c) => !c.ok);
  print("");
  if (failed.length === 0) {
    print(green(`✓ all ${checks.length} checks passed: presence, typing, ${sent.length} messages delivered to both, receipts, unread count, edit, reaction, search, offline`));
  } else {
    print(red(`✗ ${failed.length} of ${checks.length} checks failed; not seen:`));
    for (const c of failed) print(red(`  - ${c.what}`));
  }
  return failed.length === 0;
}

const HELP = [
  "type a message as alice, or:",
  "  /bob TEXT        speak as bob",
  "  /edit TEXT       alice edits her last message",
  "  /react EMOJI     alice reacts to the last message",
  "  /read            bob reads everything (alice sees the receipt)",
  "  /search WORDS    alice searches this conversation",
  "  /who             who is online (presence:query)",
  "  /quit or Ctrl-D  ends",
].join("\n");

async function interactive(chat) {
  const { alice, bob, conversationId } = chat;
  await connectAs(alice, GATEWAY_A);
  listen(alice, chat);
  print(dim(HELP));
  const last = { alice: undefined, any: undefined };
  const latest = () => [...chat.seqOf.entries()].sort((a, b) => b[1] - a[1])[0];
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "" });
  for await (const line of rl) {
    const text = line.trim();
    const [command, ...rest] = text.split(" ");
    const arg = rest.join(" ").trim();
    if (!text) continue;
    if (text === "/quit") break;
    try {
      if (command === "/help") print(dim(HELP));
      else if (command === "/bob" && arg) await send(bob, conversationId, arg);
      else if (command === "/edit" && arg) {
        if (!last.alice) print(dim("alice has sent nothing yet"));
        else if (await call(alice, "message:edit", { messageId: last.alice.id, body: arg })) print(`${who.alice} ${green("✓ edited")} ${bold(`#${last.alice.seq}`)}`);
      } else if (command === "/react" && arg) {
        const [messageId, seq] = latest() ?? [];
        if (!messageId) print(dim("no message yet"));
        else if (await call(alice, "reaction:add", { messageId, emoji: arg })) print(`${who.alice} ${green("✓ reacted")} ${arg} to ${bold(`#${seq}`)}`);
      } else if (command === "/read") {
        const seq = latest()?.[1];
        const read = seq && (await call(bob, "message:read", { conversationId, seq }));
        if (read) print(`${who.bob} ${green("✓✓ read")} up to ${bold(`#${read.lastReadSeq}`)}, unread now ${bold(String(read.unreadCount))}`);
      } else if (command === "/search" && arg) await search(alice, conversationId, arg);
      else if (command === "/who") {
        for (const user of [alice, bob]) {
          const other = user === alice ? "bob" : "alice";
          const p = (await call(user, "presence:query", { userIds: [other] }))?.presence[0];
          print(`${who[user.userId]} ${dim("asks:")} ${other} is ${p ? (p.status === "online" ? green("online") : `offline, last seen ${clock(p.lastSeenAt)}`) : "unknown"}`);
        }
      } else if (command.startsWith("/")) print(dim(`unknown command or missing argument: ${text} ("/help" lists them)`));
      else {
        const message = await send(alice, conversationId, text);
        if (message) last.alice = message;
      }
    } catch (error) {
      print(red(`✗ ${error.message}`));
    }
  }
  rl.close();
  return true;
}

async function main() {
  const alice = { userId: "alice", token: await devToken("alice", "Alice") };
  const bob = { userId: "bob", token: await devToken("bob", "Bob") };
  // bob connects first, so he is there to see alice come online.
  await connectAs(bob, GATEWAY_B);
  const chat = { alice, bob, inbox: new Inbox(), seqOf: new Map(), conversationId: "" };
  listen(bob, chat);
  const conversation = await createGroup(alice, GATEWAY_A);
  chat.conversationId = conversation.id;
  print(`${who.alice} created group "${conversation.title ?? "demo"}" ${dim(conversation.id)} with bob ${dim("(HTTP)")}`);
  // Membership reaches live sockets cluster-wide asynchronously; give it a moment.
  await sleep(300);
  const ok = DEMO ? await demo(chat) : await interactive(chat);
  for (const user of [alice, bob]) {
    user.socket?.off("disconnect");
    user.socket?.close();
  }
  // Let the close frames leave: a socket dropped without one counts as online until the
  // server's ping timeout, and the next run would not see alice come online.
  await sleep(200);
  process.exit(ok ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`${red("✗")} ${error.message}\n  ${dim("is the cluster running? start it with: npm start")}\n`);
  process.exit(1);
});
