import type { Browser } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { launchChromium } from "../chromium.js";
import { startLocalCluster, type LocalCluster } from "../local-cluster.js";
import { ChatUser } from "../web-page.js";

export interface ChatSession {
  /** The file's local cluster (set once beforeAll ran). */
  readonly cluster: LocalCluster;
  /** The file's Chromium. */
  readonly browser: Browser;
  /** Everyone signed in so far, whose page errors each test checks. */
  readonly users: ChatUser[];
  /** A user signed in to the web chat in a browser context of their own, on gateway `gateway`. */
  newUser(gateway: number, userId: string, name: string, options?: { admin?: boolean }): Promise<ChatUser>;
}

/**
 * One local cluster and one Chromium for a test file, started before its tests and stopped
 * after them (call at the top level of the file).
 */
export function chatSession(): ChatSession {
  let cluster: LocalCluster | undefined;
  let browser: Browser | undefined;
  const users: ChatUser[] = [];
  beforeAll(async () => {
    [cluster, browser] = await Promise.all([startLocalCluster(), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the chat session is used before its beforeAll ran");
    return value;
  };
  return {
    get cluster() {
      return started(cluster);
    },
    get browser() {
      return started(browser);
    },
    users,
    async newUser(gateway, userId, name, options = {}) {
      const context = await started(browser).newContext({ viewport: { width: 900, height: 620 } });
      const c = started(cluster);
      const user = await ChatUser.signIn(context, c.web, c.gateways[gateway]!, userId, name, options);
      users.push(user);
      return user;
    },
  };
}
