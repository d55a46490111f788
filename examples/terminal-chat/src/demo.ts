import type { Message } from "@parley/client";
import { attempt, search, send, type ChatUser, type Seen } from "./chat-user.js";
import { bold, clock, dim, green, print, red, sleep, yellow } from "./terminal.js";

/**
 * The delivery service announces "offline" only after PRESENCE_OFFLINE_GRACE_MS (2 s) and
 * announces once per PRESENCE_FLUSH_MS (1 s): a user back within that announces nothing.
 * 3.5 s covers both with a margin; 8 s is the limit for seeing it happen.
 */
const OFFLINE_SETTLE_MS = 3_500;
const OFFLINE_TIMEOUT_MS = 8_000;

export interface DemoChat extends Seen {
  bob: ChatUser;
  /** alice connects during the tour, so that bob sees her come online. */
  connectAlice: () => Promise<ChatUser>;
  conversationId: string;
}

/**
 * bob asks whether alice is online before she connects: she may still be connected from
 * elsewhere, or have left an earlier run so recently that her offline is not announced
 * yet (then coming back announces nothing). Waits that out where it can.
 */
async function letAlicePresenceSettle(bob: ChatUser): Promise<void> {
  const query = async () => (await attempt(bob, "presence:query", () => bob.client.presence(["alice"])))?.find((p) => p.userId === "alice");
  let alice = await query();
  for (let waited = 0; alice?.status === "online" && waited < OFFLINE_SETTLE_MS; waited += 250) {
    await sleep(250);
    alice = await query();
  }
  if (alice?.status === "online") {
    print(`${bob.tag} ${yellow("⚠ alice is already online elsewhere (another npm run chat?): her coming online cannot be shown")}`);
    return;
  }
  const left = alice?.lastSeenAt ? Date.now() - Date.parse(alice.lastSeenAt) : Infinity;
  if (left < OFFLINE_SETTLE_MS) {
    const wait = OFFLINE_SETTLE_MS - Math.max(0, left);
    print(dim(`  alice left ${(Math.max(0, left) / 1000).toFixed(1)} s ago (an earlier run); waiting ${(wait / 1000).toFixed(1)} s for her offline to be announced first`));
    await sleep(wait);
  }
}

/**
 * A scripted tour of the contract across the two gateways, through the SDK: presence, typing,
 * messages, delivered and read receipts, unread count, an edit, a reaction, search, bob
 * going offline. Answers whether everything was seen; prints what was not.
 */
export async function demo(chat: DemoChat): Promise<boolean> {
  const { bob, conversationId, inbox } = chat;
  const checks: { what: string; ok: boolean }[] = [];
  const check = (what: string, seen: unknown) => {
    checks.push({ what, ok: Boolean(seen) });
    if (!seen) print(red(`  ✗ not seen: ${what}`));
  };
  const section = (title: string) => print(dim(`\n── ${title}`));
  const inConversation = (e: { conversationId: string }) => e.conversationId === conversationId;

  section("presence: alice connects to the other gateway");
  await letAlicePresenceSettle(bob);
  const alice = await chat.connectAlice();
  check("bob sees alice come online (presence)", await inbox.waitFor("bob", "presence", (p) => p.userId === "alice" && p.status === "online"));

  section("typing");
  const aliceView = alice.client.conversation(conversationId);
  const beforeTyping = inbox.mark;
  aliceView.input(); // what an app calls on each keystroke: typing:start
  const typing = await inbox.waitFor("bob", "typing", (t) => inConversation(t) && t.typists.some((p) => p.userId === "alice"), { since: beforeTyping });
  check('bob sees "Alice is typing…"', typing);
  await sleep(800);
  const beforeStop = inbox.mark;
  aliceView.stopTyping(); // typing:stop (the SDK would send it after 2 s idle anyway)
  // Within EVENT_TIMEOUT_MS the SDK's own 7 s expiry of a remote typist cannot be what ends it.
  check(
    "bob sees that alice stopped typing",
    typing && (await inbox.waitFor("bob", "typing", (t) => inConversation(t) && !t.typists.some((p) => p.userId === "alice"), { since: beforeStop })),
  );

  section("messages: each acked once durable, delivered to both users on both gateways");
  const script: [ChatUser, string][] = [
    [alice, "hi bob, this went through gateway :3000"],
    [bob, "hi alice, and this one through :3001"],
    [alice, "every message has a seq: no gaps, no repeats"],
    [alice, "bye!"],
  ];
  const sent: Message[] = [];
  for (const [user, text] of script) {
    const message = await send(user, conversationId, text);
    if (message) sent.push(message);
    await sleep(200);
  }
  check(`${script.length} messages acked`, sent.length === script.length);
  for (const m of sent) {
    for (const user of ["alice", "bob"] as const) check(`${user} receives #${m.seq}`, await inbox.waitFor(user, "message", (n) => n.id === m.id));
  }
  const lastSeq = Math.max(0, ...sent.map((m) => m.seq));

  section("receipts and unread count");
  check(
    `alice sees bob's delivered receipt up to #${lastSeq}`,
    await inbox.waitFor("alice", "receipt", (r) => inConversation(r) && r.userId === "bob" && r.kind === "delivered" && r.seq >= lastSeq),
  );
  // The server's count (GET /v1/conversations), not the one the SDK keeps on this device.
  const serverUnread = async () => (await attempt(bob, "conversations.list", () => bob.client.conversations.list()))?.find((c) => c.id === conversationId)?.unreadCount;
  const unread = await serverUnread();
  const expectedUnread = sent.filter((m) => m.senderId !== "bob").length;
  print(`${bob.tag} ${dim("conversations:")} ${bold(String(unread))} unread in "demo"`);
  check(`bob's unread count is ${expectedUnread} before reading`, unread === expectedUnread);
  // What an app calls once the message is on screen: the SDK sends message:read (coalesced).
  bob.client.conversation(conversationId).markShown(lastSeq);
  const readReceipt = await inbox.waitFor("alice", "receipt", (r) => inConversation(r) && r.userId === "bob" && r.kind === "read" && r.seq >= lastSeq);
  // The read is in PostgreSQL before its receipt goes out, so the server's count has dropped by now.
  const unreadAfter = await serverUnread();
  print(`${bob.tag} ${green("✓✓ read")} up to ${bold(`#${lastSeq}`)}, unread now ${bold(String(unreadAfter))}`);
  check("bob's unread count is 0 after reading", unreadAfter === 0);
  check(`alice sees bob's read receipt up to #${lastSeq}`, readReceipt);

  section("an edit and a reaction, seen on both gateways");
  const toEdit = sent.find((m) => m.body?.startsWith("every message"));
  const fromBob = sent.find((m) => m.senderId === "bob");
  if (toEdit) {
    const edited = await attempt(alice, "message:edit", () => alice.client.edit(toEdit.id, `${toEdit.body}, ever`));
    if (edited) print(`${alice.tag} ${green("✓ edited")} ${bold(`#${edited.seq}`)} ${dim(`at ${clock(edited.editedAt)}`)}`);
  }
  for (const user of ["alice", "bob"] as const) {
    check(`${user} sees alice's edit`, toEdit && (await inbox.waitFor(user, "message:updated", (m) => m.id === toEdit.id && m.editedAt !== undefined)));
  }
  if (fromBob && (await attempt(alice, "reaction:add", () => alice.client.react(fromBob.id, "👍").then(() => true)))) {
    print(`${alice.tag} ${green("✓ reacted")} 👍 to ${bold(`#${fromBob.seq}`)}`);
  }
  for (const user of ["alice", "bob"] as const) {
    check(
      `${user} sees alice's reaction`,
      fromBob && (await inbox.waitFor(user, "reaction", (r) => r.messageId === fromBob.id && r.userId === "alice" && r.op === "add")),
    );
  }

  section("search (finds the edited message by its new text)");
  const found = await search(alice, conversationId, "ever");
  check('search for "ever" finds the edited message', toEdit && found?.some((m) => m.id === toEdit.id));

  section("bob disconnects; alice sees him go offline");
  await bob.client.close();
  print(`${bob.tag} ${dim("closed his connection")}`);
  const started = Date.now();
  const offline = await inbox.waitFor("alice", "presence", (p) => p.userId === "bob" && p.status === "offline", { ms: OFFLINE_TIMEOUT_MS });
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
