import { expect, it } from "vitest";
import { signToken } from "@parley/testkit";
import { chatSession } from "./support/chat-session.js";
import { saveSideBySide, screenshotPaths } from "./support/side-by-side.js";
import { ChatUser, eventually } from "./web-page.js";

// The web chat (examples/web, built) in a real Chromium against a real local cluster: two
// gateways, the persister and the delivery service as processes, Redis and PostgreSQL.
// Each run's screenshot goes to tests/browser/artifacts/ (not committed); with
// PARLEY_UPDATE_SCREENSHOT=1 it also replaces the one the docs show.
const SCREENSHOTS = screenshotPaths("web-chat");

const session = chatSession();
const { users, newUser } = session;

it("two users on two gateways chat; one goes offline, sends, comes back: every message once and in order, with typing and read ticks", async () => {
  try {
    const alice = await newUser(0, "alice", "Alice");
    const bob = await newUser(1, "bob", "Bob");

    // Alice starts a direct conversation with bob; it appears in bob's list on the other gateway.
    await alice.page.fill("[data-testid=new-conversation] input[name=members]", "bob");
    await alice.page.click("[data-testid=new-conversation] button[type=submit]");
    const pane = await alice.page.waitForSelector(".pane[data-conversation-id]");
    const conversationId = (await pane.getAttribute("data-conversation-id"))!;
    await bob.conversationItem(conversationId).waitFor({ timeout: 20_000 });

    // An unread badge before bob opens it; gone once he has read it; alice's ticks turn to delivered, then read.
    await alice.send("Hi Bob!");
    await eventually(() => bob.conversationItem(conversationId).locator("[data-testid=unread]").textContent().catch(() => null), (text) => text === "1", "bob's unread badge");
    // Bob's device has it, though he has not opened it: two grey ticks, not yet blue.
    await eventually(() => alice.messages("Hi Bob!"), (m) => m.length === 1 && m[0]!.ticks === "delivered", "alice's delivered ticks");
    // Presence dots: each sees the other online.
    await alice.page.waitForSelector(`li[data-conversation-id="${conversationId}"] .presence[data-status="online"]`, { timeout: 20_000 });
    await bob.page.waitForSelector(`li[data-conversation-id="${conversationId}"] .presence[data-status="online"]`, { timeout: 20_000 });
    await bob.open(conversationId);
    await eventually(() => bob.bodies(), (b) => b.includes("Hi Bob!"), "bob sees alice's message");
    await eventually(() => bob.conversationItem(conversationId).locator("[data-testid=unread]").count(), (n) => n === 0, "bob's badge cleared");
    await eventually(() => alice.messages("Hi Bob!"), (m) => m.length === 1 && m[0]!.ticks === "read", "alice's read ticks");

    // Typing: alice types, bob sees it; sending clears it.
    await alice.type("How are");
    await eventually(() => bob.typingLine(), (line) => line.includes("Alice is typing"), "bob sees alice typing");
    await alice.send("How are you?");
    await eventually(() => bob.typingLine(), (line) => line.trim() === "", "typing cleared after the send");
    await eventually(() => bob.bodies(), (b) => b.at(-1) === "How are you?", "bob sees the second message");

    // Bob loses the network: the banner says so, his messages wait in the outbox.
    await bob.context.setOffline(true);
    await bob.page.waitForSelector("[data-testid=offline-banner]:not([hidden])", { timeout: 20_000 });
    const offline = ["Sorry, train tunnel", "Writing this offline", "It goes out when I'm back"];
    for (const text of offline) await bob.send(text);
    await eventually(() => bob.page.locator("[data-testid=offline-banner]").getAttribute("data-queued"), (q) => q === "3", "3 messages queued");
    for (const text of offline) expect(await bob.messages(text)).toEqual([{ status: "pending", ticks: "pending" }]);
    // Meanwhile alice writes, and sees bob go offline (after the presence grace period).
    await alice.send("Still there?");
    await alice.page.waitForSelector(`li[data-conversation-id="${conversationId}"] .presence[data-status="offline"]`, { timeout: 20_000 });
    const bobOffline = await bob.page.screenshot();

    // Back online: the outbox drains by itself, and both see the same conversation.
    await bob.context.setOffline(false);
    await bob.waitOnline();
    const expected = ["Hi Bob!", "How are you?", ...offline, "Still there?"];
    const inOrder = (bodies: string[]) => [...bodies].sort().join("|") === [...expected].sort().join("|");
    const bobSees = await eventually(() => bob.bodies(), (b) => b.length === expected.length && inOrder(b), "bob's conversation after reconnecting");
    const aliceSees = await eventually(() => alice.bodies(), (b) => b.length === expected.length && inOrder(b), "alice's conversation");
    // Each message once, and both in the same (seq) order; bob's own three in the order he wrote them.
    expect(aliceSees).toEqual(bobSees);
    expect(new Set(aliceSees).size).toBe(expected.length);
    expect(aliceSees.filter((body) => offline.includes(body))).toEqual(offline);
    for (const text of offline) {
      await eventually(() => bob.messages(text), (m) => m.length === 1 && m[0]!.status === "sent", `"${text}" sent`);
      // Alice has the conversation open: bob's ticks turn to read.
      await eventually(() => bob.messages(text), (m) => m[0]?.ticks === "read", `"${text}" read by alice`);
    }
    await eventually(() => alice.messages("Still there?"), (m) => m[0]?.ticks === "read", "alice's last message read by bob");
    await alice.page.waitForSelector(`li[data-conversation-id="${conversationId}"] .presence[data-status="online"]`, { timeout: 20_000 });

    // One picture of both screens for the docs: bob offline with his queue, alice after it went out.
    await bob.type("Back again");
    await eventually(() => alice.typingLine(), (line) => line.includes("Bob is typing"), "alice sees bob typing");
    const aliceAfter = await alice.page.screenshot();
    await saveSideBySide(session.browser, SCREENSHOTS, bobOffline, "Bob, offline: three messages queued", aliceAfter, "Alice, after Bob came back");
    expect(users.flatMap((u) => u.errors)).toEqual([]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n── service logs ──\n${session.cluster.logs()}`, { cause: error });
  }
});

it("history scroll-back: a long conversation opens at its newest messages and scrolls back to the first", async () => {
  const carolToken = await signToken({ sub: "carol", name: "Carol", secret: session.cluster.secret });
  const api = (path: string, body: unknown) =>
    fetch(`${session.cluster.gateways[0]}${path}`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${carolToken}` }, body: JSON.stringify(body) });
  const created = (await (await api("/v1/conversations", { kind: "group", memberIds: ["dave"], title: "Long history" })).json()) as { conversation: { id: string } };
  const conversationId = created.conversation.id;
  const total = 130; // more than one page (the SDK's default page is 100)
  for (let i = 1; i <= total; i++) {
    // As a client does: a send refused before it was queued (503 with Retry-After, the
    // persist path behind on a busy machine) is sent again with the same clientMessageId.
    const send = { clientMessageId: crypto.randomUUID(), body: `history ${i}` };
    let res = await api(`/v1/conversations/${conversationId}/messages`, send);
    for (let tries = 1; res.status === 503 && res.headers.has("retry-after") && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, Number(res.headers.get("retry-after")) * 1_000));
      res = await api(`/v1/conversations/${conversationId}/messages`, send);
    }
    expect(res.status).toBe(201);
  }

  const dave = await newUser(1, "dave", "Dave");
  await dave.conversationItem(conversationId).waitFor({ timeout: 20_000 });
  await dave.open(conversationId);
  const first = await eventually(() => dave.bodies(), (b) => b.at(-1) === `history ${total}`, "dave sees the newest message");
  // The SDK's newest page (100) by itself, nothing older until the reader scrolls.
  expect(first).toEqual(Array.from({ length: 100 }, (_, i) => `history ${i + 31}`));
  // Scrolling to the top fetches older pages until the first message.
  const all = await eventually(
    async () => {
      await dave.page.locator(".scroller").evaluate((el) => el.scrollTo({ top: 0 }));
      return dave.bodies();
    },
    (b) => b[0] === "history 1",
    "dave scrolls back to the first message",
  );
  expect(all).toEqual(Array.from({ length: total }, (_, i) => `history ${i + 1}`));
  expect(dave.errors).toEqual([]);
});

it("a message written offline survives closing the tab: the browser's next tab sends it, once", async () => {
  const erin = await newUser(0, "erin", "Erin");
  const finn = await newUser(1, "finn", "Finn");
  await erin.page.fill("[data-testid=new-conversation] input[name=members]", "finn");
  await erin.page.click("[data-testid=new-conversation] button[type=submit]");
  const conversationId = (await (await erin.page.waitForSelector(".pane[data-conversation-id]")).getAttribute("data-conversation-id"))!;
  await finn.conversationItem(conversationId).waitFor({ timeout: 20_000 });
  await finn.open(conversationId);

  await erin.context.setOffline(true);
  await erin.page.waitForSelector("[data-testid=offline-banner]:not([hidden])", { timeout: 20_000 });
  const text = "Written offline, then I closed the tab";
  await erin.send(text);
  // Durable in IndexedDB (not only in the page's memory) before the tab goes.
  await eventually(() => erin.storedOutbox(), (n) => n === 1, "the message in erin's IndexedDB outbox");
  await erin.page.close();

  // The network is back and erin opens the chat again: the outbox goes out by itself.
  await erin.context.setOffline(false);
  const again = await ChatUser.signIn(erin.context, session.cluster.web, session.cluster.gateways[0]!, "erin", "Erin");
  users.push(again);
  await eventually(() => finn.bodies(), (b) => b.includes(text), "finn gets the message from the closed tab");
  await eventually(() => again.storedOutbox(), (n) => n === 0, "erin's outbox emptied once stored");
  await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would have arrived by now
  expect((await finn.bodies()).filter((b) => b === text)).toHaveLength(1);
  expect([...erin.errors, ...again.errors, ...finn.errors]).toEqual([]);
});
