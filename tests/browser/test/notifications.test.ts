import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "./chromium.js";
import { startLocalCluster, type LocalCluster } from "./local-cluster.js";
import { ChatUser, eventually } from "./web-page.js";

// Notifications and sound in the web chat, in a real Chromium with the notification
// permission granted, against a real local cluster. What the page asked the browser to do is
// recorded by wrapping the real APIs before the page loads: `new Notification(...)` (then
// passed on to Chromium's own) and each Web Audio oscillator started for the chime.

let cluster: LocalCluster;
let browser: Browser;
beforeAll(async () => {
  [cluster, browser] = await Promise.all([startLocalCluster(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
});

/** Records notifications and chimes, and lets the test say the tab is hidden (headless tabs are always "visible"). */
function recordAlerts(): void {
  const w = window as unknown as { __notifications: { title: string; body: string; tag: string }[]; __chimes: number; __setHidden: (hidden: boolean) => void };
  w.__notifications = [];
  w.__chimes = 0;
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title: string, options: NotificationOptions = {}) {
      super(title, options);
      w.__notifications.push({ title, body: options.body ?? "", tag: options.tag ?? "" });
    }
  }
  Object.defineProperty(window, "Notification", { value: Recorded, configurable: true, writable: true });
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (this: OscillatorNode, ...args: Parameters<OscillatorNode["start"]>) {
    w.__chimes++;
    return start.apply(this, args);
  };
  let hidden = false;
  Object.defineProperty(document, "visibilityState", { get: () => (hidden ? "hidden" : "visible"), configurable: true });
  Object.defineProperty(document, "hidden", { get: () => hidden, configurable: true });
  w.__setHidden = (value) => {
    hidden = value;
    document.dispatchEvent(new Event("visibilitychange"));
  };
}

const notifications = (page: Page) => page.evaluate(() => (window as unknown as { __notifications: { title: string; body: string; tag: string }[] }).__notifications);
const chimes = (page: Page) => page.evaluate(() => (window as unknown as { __chimes: number }).__chimes);
/** More than the page's 1.5 s between chimes, so each alert below may chime. */
const chimeGap = () => new Promise((resolve) => setTimeout(resolve, 1_700));

it("a message in another conversation, or while the tab is hidden, notifies and chimes; the open conversation, a muted one, or alerts switched off do not", async () => {
  try {
    const aliceContext = await browser.newContext({ viewport: { width: 900, height: 620 } });
    const alice = await ChatUser.signIn(aliceContext, cluster.web, cluster.gateways[0]!, "alice", "Alice");
    const bobContext = await browser.newContext({ viewport: { width: 900, height: 620 }, permissions: ["notifications"] });
    await bobContext.addInitScript(recordAlerts);
    const bob = await ChatUser.signIn(bobContext, cluster.web, cluster.gateways[1]!, "bob", "Bob");
    expect(await bob.page.evaluate(() => Notification.permission)).toBe("granted");

    // Two conversations with bob: a direct one, and a group.
    const create = async (members: string, title: string): Promise<string> => {
      await alice.page.fill("[data-testid=new-conversation] input[name=members]", members);
      await alice.page.fill("[data-testid=new-conversation] input[name=title]", title);
      await alice.page.click("[data-testid=new-conversation] button[type=submit]");
      const id = await eventually(
        () => alice.page.locator(".pane[data-conversation-id]").getAttribute("data-conversation-id"),
        (found) => typeof found === "string" && !ids.includes(found),
        `the new conversation ${title || members}`,
      );
      return id!;
    };
    const ids: string[] = [];
    ids.push(await create("bob", ""));
    ids.push(await create("bob, carol", "Team"));
    const [direct, team] = ids as [string, string];
    await bob.conversationItem(direct).waitFor({ timeout: 20_000 });
    await bob.conversationItem(team).waitFor({ timeout: 20_000 });
    // Bob reads the direct conversation (the click is also the gesture that lets audio play).
    await bob.open(direct);

    // 1. The open, visible conversation: nothing.
    await alice.open(direct);
    await alice.send("on screen for bob");
    await eventually(() => bob.bodies(), (b) => b.includes("on screen for bob"), "bob sees the message");
    // 2. Another conversation: a notification with the sender and the text, and a chime.
    await alice.open(team);
    await alice.send("in the team room");
    await eventually(() => notifications(bob.page), (n) => n.length === 1, "bob's notification");
    expect(await notifications(bob.page)).toEqual([{ title: "Alice", body: "in the team room", tag: team }]);
    await eventually(() => chimes(bob.page), (c) => c > 0, "bob's chime");
    const chimesAfterFirst = await chimes(bob.page);

    // 3. The tab hidden: even the open conversation notifies.
    await chimeGap();
    await bob.page.evaluate(() => (window as unknown as { __setHidden: (h: boolean) => void }).__setHidden(true));
    await alice.open(direct);
    await alice.send("while you were away");
    await eventually(() => notifications(bob.page), (n) => n.length === 2, "bob's notification while hidden");
    expect((await notifications(bob.page))[1]).toEqual({ title: "Alice", body: "while you were away", tag: direct });
    await eventually(() => chimes(bob.page), (c) => c > chimesAfterFirst, "a chime while hidden");
    await bob.page.evaluate(() => (window as unknown as { __setHidden: (h: boolean) => void }).__setHidden(false));

    // 4. Muted: the team room stays quiet (and the badge still counts).
    await bob.open(team);
    await bob.page.click("[data-testid=mute]");
    await bob.open(direct);
    await chimeGap();
    const chimesBeforeMuted = await chimes(bob.page);
    await alice.open(team);
    await alice.send("muted room");
    await eventually(() => bob.conversationItem(team).locator("[data-testid=unread]").textContent().catch(() => null), (t) => t === "1", "the muted room's badge");
    await new Promise((resolve) => setTimeout(resolve, 500)); // an alert would have come with the message
    expect(await notifications(bob.page)).toHaveLength(2);
    expect(await chimes(bob.page)).toBe(chimesBeforeMuted);

    // 5. Alerts switched off: an unmuted conversation in the background stays quiet too.
    await bob.page.uncheck("[data-testid=alerts]");
    await bob.page.evaluate(() => (window as unknown as { __setHidden: (h: boolean) => void }).__setHidden(true));
    await alice.open(direct);
    await alice.send("alerts are off");
    await eventually(() => bob.bodies(), (b) => b.includes("alerts are off"), "bob's page has the message");
    await new Promise((resolve) => setTimeout(resolve, 500)); // an alert would have come with the message
    expect(await notifications(bob.page)).toHaveLength(2);
    expect(await chimes(bob.page)).toBe(chimesBeforeMuted);
    // The choices survive a reload (kept per user in this browser).
    await bob.page.reload();
    await bob.waitOnline();
    expect(await bob.page.isChecked("[data-testid=alerts]")).toBe(false);
    expect([...alice.errors, ...bob.errors]).toEqual([]);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n── service logs ──\n${cluster.logs()}`, { cause: error });
  }
});
