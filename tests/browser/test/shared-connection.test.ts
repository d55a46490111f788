import type { Browser, BrowserContext } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "./local-cluster.js";
import { BROWSERS, launchBrowser } from "./support/browsers.js";
import { ChatTab, eventually } from "./support/chat-tab.js";
import { connectedSockets } from "./support/gateway-metrics.js";

// One connection per browser (the SDK's `shareConnection`, which the web chat turns on):
// three tabs of one user in one browser hold one socket between them, in Chromium and in
// Firefox. The first tab to sign in takes the Web Lock; the browser hands it on in request
// order when the holder closes (tab 2, then tab 3).

let cluster: LocalCluster;
beforeAll(async () => {
  cluster = await startLocalCluster();
});
afterAll(async () => {
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

  it("three tabs share one socket; sends from any tab, takeover within 2 s, and a message queued offline goes out once after its holder closed", async () => {
    const alice = `ann-${browserName}`;
    const bob = `ben-${browserName}`;
    const [gatewayA, gatewayB] = cluster.gateways as [string, string];
    try {
      const before = await connectedSockets(cluster.gateways);
      const aliceContext: BrowserContext = await browser.createBrowserContext();
      const tabs: ChatTab[] = [];
      for (let i = 0; i < 3; i++) tabs.push(await ChatTab.signIn(aliceContext, cluster.web, gatewayA, alice, "Ann"));
      const bobTab = await ChatTab.signIn(await browser.createBrowserContext(), cluster.web, gatewayB, bob, "Ben");
      // The server sees one socket for the three tabs (and bob's one).
      await eventually(() => connectedSockets(cluster.gateways), (n) => n === before + 2, "one socket for alice's three tabs, one for bob");

      // A follower tab starts the conversation and sends; bob gets it; his answer reaches every tab.
      const conversationId = await tabs[2]!.startConversation(bob);
      await tabs[2]!.send("Hello from the third tab");
      await bobTab.open(conversationId);
      await eventually(() => bobTab.bodies(), (b) => b.includes("Hello from the third tab"), "bob gets the follower tab's message");
      await bobTab.send("Hello, all of your tabs");
      for (const tab of tabs) {
        if (tab !== tabs[2]) await tab.open(conversationId);
        await eventually(() => tab.bodies(), (b) => b.join("|") === "Hello from the third tab|Hello, all of your tabs", "every alice tab shows both, once");
      }
      // Read receipts from a follower tab (the one in front: what a visible tab shows counts as
      // read) travel through the holder's socket: bob's ticks turn read.
      await tabs[2]!.page.bringToFront();
      await eventually(() => bobTab.messages("Hello, all of your tabs"), (m) => m[0]?.ticks === "read", "bob's message read by alice");

      // The holder (tab 1) closes: tab 2 takes the lock and connects within two seconds.
      const closedAt = Date.now();
      await tabs[0]!.page.close();
      await eventually(
        async () => ({ states: await Promise.all([tabs[1]!.connectionState(), tabs[2]!.connectionState()]), sockets: await connectedSockets(cluster.gateways) }),
        (s) => s.states.every((state) => state === "online") && s.sockets === before + 2,
        "tabs 2 and 3 online again on one socket",
        2_000,
      );
      const takeoverMs = Date.now() - closedAt;
      expect(takeoverMs).toBeLessThan(2_000);

      // The gateway goes; a follower queues a message: every tab shows it waiting.
      await cluster.gatewayProcesses[0]!.kill();
      await eventually(() => tabs[2]!.connectionState(), (s) => s !== "online", "alice's tabs offline");
      const queued = "Written while the gateway was down";
      await tabs[2]!.send(queued);
      for (const tab of [tabs[1]!, tabs[2]!]) await eventually(() => tab.queued(), (q) => q === "1", "the queued message shown in each tab");
      // Its holder (tab 2) closes while it waits; the gateway comes back: tab 3 sends it, once.
      await tabs[1]!.page.close();
      await cluster.gatewayProcesses[0]!.start(60_000);
      await eventually(() => bobTab.bodies(), (b) => b.includes(queued), "bob gets the message queued before the holder closed", 30_000);
      await eventually(() => tabs[2]!.queued(), (q) => q === "0", "tab 3's queue empty");
      await eventually(() => connectedSockets(cluster.gateways), (n) => n === before + 2, "one socket for alice's last tab");
      await new Promise((resolve) => setTimeout(resolve, 500)); // a duplicate would have arrived by now
      expect((await bobTab.bodies()).filter((b) => b === queued)).toHaveLength(1);
      expect([...tabs, bobTab].flatMap((t) => t.errors)).toEqual([]);
      console.info(`${browserName}: takeover after the holder tab closed: ${takeoverMs} ms`);
    } catch (error) {
      throw new Error(`${(error as Error).message}\n── service logs ──\n${cluster.logs()}`, { cause: error });
    }
  });
});
