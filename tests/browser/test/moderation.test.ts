import { expect, it } from "vitest";
import { signToken } from "@parley/testkit";
import { chatSession } from "./support/chat-session.js";
import { saveSideBySide, screenshotPaths } from "./support/side-by-side.js";
import { type ChatUser, eventually } from "./web-page.js";

// Safety and moderation in the web chat (examples/web, built) in a real Chromium against a
// real local cluster (two gateways, persister, delivery, Redis, PostgreSQL): block, mute and
// report from the menus, the blocked-user placeholder, and the admins' moderation page.
// The second test resolves the reports the first one files. Each run's picture goes to
// tests/browser/artifacts/moderation.png; PARLEY_UPDATE_SCREENSHOT=1 also replaces the docs' one.

const PLACEHOLDER = "message from a blocked user";

const session = chatSession();
const { users, newUser } = session;

/** The gateway's HTTP API as `userId` (a token signed like the dev sign-in's). */
async function api(userId: string, method: string, path: string, body?: unknown): Promise<Response> {
  const token = await signToken({ sub: userId, name: userId, secret: session.cluster.secret });
  return fetch(`${session.cluster.gateways[0]}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function blocksOf(userId: string): Promise<string[]> {
  return ((await (await api(userId, "GET", "/v1/blocks")).json()) as { userIds: string[] }).userIds;
}

/** Starts a conversation from the sidebar form and returns its id (the pane it opens). */
async function startConversation(user: ChatUser, members: string, title = ""): Promise<string> {
  const pane = user.page.locator(".pane[data-conversation-id]");
  const before = (await pane.count()) ? await pane.getAttribute("data-conversation-id") : null;
  await user.page.fill("[data-testid=new-conversation] input[name=members]", members);
  await user.page.fill("[data-testid=new-conversation] input[name=title]", title);
  await user.page.click("[data-testid=new-conversation] button[type=submit]");
  // The pane that was open stays until the new conversation is created.
  return (await eventually(() => pane.getAttribute("data-conversation-id"), (id) => id !== null && id !== before, "the new conversation's pane"))!;
}

/** The open conversation's message with this body (found by text, then held by its seq: a placeholder hides the text). */
async function messageItem(user: ChatUser, body: string) {
  const seq = await user.page.locator("[data-testid=messages] li").filter({ hasText: body }).getAttribute("data-seq", { timeout: 20_000 });
  return user.page.locator(`[data-testid=messages] li[data-seq="${seq}"]`);
}

type MessageItem = Awaited<ReturnType<typeof messageItem>>;

async function openMenu(item: MessageItem) {
  if ((await item.locator("[data-testid=message-menu]").count()) === 0) await item.locator("[data-testid=message-menu-toggle]").click();
  return item.locator("[data-testid=message-menu]");
}

/** An open menu lies over the messages below it: closed after use, as a user would. */
async function closeMenu(item: MessageItem) {
  if ((await item.locator("[data-testid=message-menu]").count()) > 0) await item.locator("[data-testid=message-menu-toggle]").click();
}

let alice: ChatUser;
let bob: ChatUser;
let team: string;
/** Alice's page with bob blocked, for the docs' picture (beside the moderation page). */
let blockedView: Buffer | undefined;

it("block, mute and report from the menus: a blocked user's messages hide behind a placeholder, direct sends from them are refused", async () => {
  try {
    alice = await newUser(0, "alice", "Alice");
    bob = await newUser(1, "bob", "Bob");

    // A group (blocking does not stop bob's messages there: they are stored and delivered, and hidden).
    team = await startConversation(alice, "bob", "Team");
    await bob.open(team);
    const said = ["hello team", "rude words", "buy cheap pills"];
    for (const text of said) await bob.send(text);
    await eventually(() => alice.bodies(), (b) => said.every((t) => b.includes(t)), "alice sees bob's three messages");

    // Block from a message's menu: every message of bob turns into the placeholder, and the list's preview too.
    const hello = await messageItem(alice, "hello team");
    await (await openMenu(hello)).locator("[data-testid=block]").click();
    await eventually(() => alice.bodies(), (b) => b.length === 3 && b.every((t) => t === PLACEHOLDER), "bob's messages behind the placeholder");
    blockedView = await alice.page.screenshot();
    expect(await alice.page.locator("[data-testid=messages] li[data-blocked]").count()).toBe(3);
    await eventually(() => alice.conversationItem(team).locator(".preview").textContent(), (t) => t === `Bob: ${PLACEHOLDER}`, "the list's preview hidden");
    expect(await blocksOf("alice")).toEqual(["bob"]);
    // Still delivered in the group, still hidden.
    await bob.send("still here");
    await eventually(() => alice.page.locator("[data-testid=messages] li[data-blocked]").count(), (n) => n === 4, "bob's new message hidden too");
    // Unblock from the same menu: the text is back.
    const unblock = (await openMenu(hello)).locator("[data-testid=block]");
    expect(await unblock.textContent()).toBe("Unblock Bob");
    await unblock.click();
    await eventually(() => alice.bodies(), (b) => b.join("|") === [...said, "still here"].join("|"), "bob's messages shown again");
    await closeMenu(hello);
    expect(await blocksOf("alice")).toEqual([]);

    // Block from a direct conversation's menu: bob's sends there are refused (FORBIDDEN).
    const direct = await startConversation(alice, "bob");
    const blockPeer = alice.page.locator("[data-testid=conversation-menu] [data-testid=block]");
    await eventually(() => blockPeer.textContent(), (t) => t === "Block Bob", "the direct conversation's block button");
    await blockPeer.click();
    await eventually(() => blockPeer.getAttribute("aria-pressed"), (p) => p === "true", "the menu shows bob blocked");
    expect(await blocksOf("alice")).toEqual(["bob"]);
    await bob.open(direct);
    await bob.send("let me in");
    await eventually(() => bob.page.locator("[data-testid=messages] li[data-status=failed] .failure").textContent(), (t) => t?.includes("FORBIDDEN") === true, "bob's direct send refused");
    await blockPeer.click();
    await eventually(() => blockPeer.textContent(), (t) => t === "Block Bob", "unblocked from the menu");
    expect(await blocksOf("alice")).toEqual([]);

    // Mute and unmute the group from its menu: the server answers both (the page's alerts follow at once).
    await alice.open(team);
    const mute = alice.page.locator("[data-testid=conversation-menu] [data-testid=mute]");
    const muteAnswer = alice.page.waitForResponse((r) => r.url().endsWith(`/v1/conversations/${team}/mute`) && r.request().method() === "PUT");
    await mute.click();
    expect((await muteAnswer).status()).toBe(204);
    expect(await mute.getAttribute("aria-pressed")).toBe("true");
    expect(await alice.conversationItem(team).locator(".muted-mark").count()).toBe(1);
    const unmuteAnswer = alice.page.waitForResponse((r) => r.url().endsWith(`/v1/conversations/${team}/mute`) && r.request().method() === "DELETE");
    await mute.click();
    expect((await unmuteAnswer).status()).toBe(204);
    expect(await mute.getAttribute("aria-pressed")).toBe("false");
    expect(await alice.page.locator("[data-testid=mute-error]").count()).toBe(0);

    // Report two messages with a reason (the contract's five offered) and a note.
    const report = async (body: string, reason: string, note: string) => {
      const item = await messageItem(alice, body);
      const menu = await openMenu(item);
      await menu.locator("[data-testid=report]").click();
      const form = menu.locator("[data-testid=report-form]");
      expect(await form.locator("select[name=reason] option").allTextContents()).toEqual(["spam", "abuse", "harassment", "illegal", "other"]);
      await form.locator("select[name=reason]").selectOption(reason);
      if (note) await form.locator("textarea[name=note]").fill(note);
      await form.locator("button[type=submit]").click();
      const reportId = (await menu.locator("[data-testid=reported]").getAttribute("data-report-id", { timeout: 20_000 }))!;
      await closeMenu(item);
      return reportId;
    };
    const rude = await report("rude words", "harassment", "rude to the team");
    const pills = await report("buy cheap pills", "spam", "");
    expect(rude).toMatch(/^[0-9a-f-]{36}$/);
    expect(pills).not.toBe(rude);
    expect(users.flatMap((u) => u.errors)).toEqual([]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n── service logs ──\n${session.cluster.logs()}`, { cause: error });
  }
});

it("the moderation page: an admin pages through open reports, dismisses, deletes the message, bans the user, and bans and unbans by id", async () => {
  try {
    // More open reports than a page (10): carol reports eleven of dave's messages.
    const carolGroup = ((await (await api("carol", "POST", "/v1/conversations", { kind: "group", memberIds: ["dave"], title: "Spam" })).json()) as { conversation: { id: string } }).conversation.id;
    for (let i = 1; i <= 11; i++) {
      const sent = await api("dave", "POST", `/v1/conversations/${carolGroup}/messages`, { clientMessageId: crypto.randomUUID(), body: `dave ${i}` });
      expect(sent.status).toBe(201);
      const { message } = (await sent.json()) as { message: { id: string } };
      expect((await api("carol", "POST", `/v1/messages/${message.id}/report`, { reason: "other" })).status).toBe(201);
    }

    // Only an admin's page has the switch.
    expect(await alice.page.locator("[data-testid=moderation-toggle]").count()).toBe(0);
    const mod = await newUser(0, "mod", "Moderator", { admin: true });
    await mod.page.click("[data-testid=moderation-toggle]");
    const rows = mod.page.locator("[data-testid=report-row]");
    await eventually(() => rows.count(), (n) => n === 10, "the first page of open reports");
    await mod.page.click("[data-testid=more-reports]");
    await eventually(() => rows.count(), (n) => n === 13, "the second page");
    await eventually(() => mod.page.locator("[data-testid=more-reports]").count(), (n) => n === 0, "no page after the last");

    const row = (text: string) => rows.filter({ hasText: text });
    expect(await row("rude words").locator("[data-testid=report-reason]").textContent()).toBe("harassment: rude to the team");

    // Delete the message: alice's pane shows it deleted.
    await row("rude words").locator("[data-testid=resolve-delete_message]").click();
    await eventually(() => row("alice").filter({ hasText: "harassment" }).getAttribute("data-status"), (s) => s === "resolved", "the rude report resolved");
    expect(await row("harassment").locator("[data-testid=resolution]").textContent()).toBe("resolved: delete_message by mod");
    await eventually(() => alice.bodies(), (b) => !b.includes("rude words") && b.includes("message deleted"), "alice sees the message deleted");

    // Dismiss one of carol's reports.
    await row("dave 1").first().locator("[data-testid=resolve-dismiss]").click();
    await eventually(() => row("dave 1").first().locator("[data-testid=resolution]").textContent().catch(() => null), (t) => t === "resolved: dismiss by mod", "dismissed");

    // Ban the user of the spam report: bob's page is disconnected, its reconnection refused AUTH_BANNED.
    await row("buy cheap pills").locator("[data-testid=resolve-ban_user]").click();
    await eventually(() => row("buy cheap pills").locator("[data-testid=resolution]").textContent().catch(() => null), (t) => t === "resolved: ban_user by mod", "banned from the report");
    const bobState = bob.page.locator("[data-testid=connection]");
    await eventually(() => bobState.getAttribute("data-reason"), (r) => r === "banned", "bob's page banned");
    expect(await bobState.getAttribute("data-state")).toBe("unauthorized");
    expect(await bobState.textContent()).toBe("banned");

    if (blockedView) await saveSideBySide(session.browser, screenshotPaths("moderation"), blockedView, "Alice blocked Bob from a message's menu", await mod.page.screenshot(), "The moderation page, three reports resolved");

    // Ban and unban by id: dave's requests are refused, then answered again.
    await mod.page.fill("[data-testid=ban-form] input[name=userId]", "dave");
    await mod.page.fill("[data-testid=ban-form] input[name=reason]", "spam run");
    await mod.page.click("[data-testid=ban-form] button[type=submit]");
    await eventually(() => mod.page.locator("[data-testid=ban-result]").textContent().catch(() => null), (t) => t === "dave is banned", "the ban confirmed");
    await eventually(async () => (await api("dave", "GET", "/v1/conversations")).status, (s) => s === 403, "dave refused while banned");
    await mod.page.click("[data-testid=ban-form] [data-testid=unban]");
    await eventually(() => mod.page.locator("[data-testid=ban-result]").textContent().catch(() => null), (t) => t === "dave is no longer banned", "the unban confirmed");
    await eventually(async () => (await api("dave", "GET", "/v1/conversations")).status, (s) => s === 200, "dave answered after the unban");

    // Opened again, the page lists only what is still open.
    await mod.page.click("[data-testid=moderation-toggle]");
    await mod.page.click("[data-testid=moderation-toggle]");
    await eventually(() => rows.count(), (n) => n === 10, "ten reports still open");
    expect(await mod.page.locator("[data-testid=report-row][data-status=resolved]").count()).toBe(0);
    expect(await row("rude words").count()).toBe(0);
    expect(users.flatMap((u) => u.errors)).toEqual([]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n── service logs ──\n${session.cluster.logs()}`, { cause: error });
  }
});
