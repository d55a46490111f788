import type { Browser } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "./local-cluster.js";
import { BROWSERS, launchBrowser } from "./support/browsers.js";
import { ChatTab, eventually } from "./support/chat-tab.js";
import { startNginxFront, type NginxFront } from "./support/nginx-front.js";

// A network that blocks WebSockets: alice reaches the gateways through a real nginx that
// refuses every Upgrade (403) and keeps each client on one gateway (session affinity); the
// SDK falls back to Socket.IO long-polling. Bob is on the other gateway over a WebSocket.
// Sending, receiving, typing and read receipts all work, in Chromium and in Firefox.

let cluster: LocalCluster;
let front: NginxFront;
beforeAll(async () => {
  cluster = await startLocalCluster();
  front = await startNginxFront(cluster.gateways);
});
afterAll(async () => {
  await front?.stop();
  await cluster?.stop();
});

describe.each(BROWSERS)("%s", (browserName) => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser(browserName);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("WebSockets refused: the web chat falls back to long-polling; send, receive, typing and read receipts work", async () => {
    const alice = `amy-${browserName}`;
    const bob = `bill-${browserName}`;
    try {
      const amy = await ChatTab.signIn(await browser.createBrowserContext(), cluster.web, front.url, alice, "Amy");
      const bill = await ChatTab.signIn(await browser.createBrowserContext(), cluster.web, cluster.gateways[1]!, bob, "Bill");
      // She is online: through the proxy, on polling, after the WebSocket was refused.
      const ofAmy = front.requests();
      expect(ofAmy.some((line) => line.startsWith("403 GET websocket"))).toBe(true);
      expect(ofAmy.some((line) => line.startsWith("200 POST polling"))).toBe(true);

      const conversationId = await amy.startConversation(bob);
      await bill.open(conversationId);
      await bill.page.bringToFront();
      await amy.send("Sent over long-polling");
      await eventually(() => bill.bodies(), (b) => b.includes("Sent over long-polling"), "bill receives amy's message");
      // Bill has it open: amy's ticks turn read (the receipt reaches her over polling).
      await eventually(() => amy.messages("Sent over long-polling"), (m) => m[0]?.ticks === "read", "amy sees bill read it");

      await bill.send("Received over long-polling?");
      // What a visible tab shows counts as read; Firefox headless shows one window at a time.
      await amy.page.bringToFront();
      await eventually(() => amy.bodies(), (b) => b.includes("Received over long-polling?"), "amy receives bill's message");
      await eventually(() => bill.messages("Received over long-polling?"), (m) => m[0]?.ticks === "read", "amy's read receipt reaches bill");

      await bill.type("Typing to you");
      await eventually(() => amy.typingLine(), (line) => line.includes("Bill is typing"), "amy sees bill typing");
      await amy.type("And back");
      await eventually(() => bill.typingLine(), (line) => line.includes("Amy is typing"), "bill sees amy typing");
      // Still no WebSocket got through: every upgrade was refused.
      expect(front.requests().filter((line) => line.includes("websocket") && !line.startsWith("403"))).toEqual([]);
      expect([...amy.errors, ...bill.errors]).toEqual([]);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n── nginx ──\n${front.log()}\n── service logs ──\n${cluster.logs()}`, { cause: error });
    }
  });
});
