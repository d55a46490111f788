import type { Browser, BrowserContext, Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLocalCluster, type LocalCluster } from "./local-cluster.js";
import { BROWSERS, launchBrowser } from "./support/browsers.js";
import { eventually } from "./support/chat-tab.js";

// The web chat without JavaScript (examples/web/server/no-js): server-rendered pages at
// /basic, in Chromium and Firefox with JavaScript switched off. Two users sign in
// (development sign-in), start a conversation, send through the forms and read each other;
// a resubmitted form (the same hidden clientMessageId) stores the message once.

let cluster: LocalCluster;
beforeAll(async () => {
  cluster = await startLocalCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

async function noJsPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.setJavaScriptEnabled(false);
  return page;
}

async function signIn(page: Page, userId: string, name: string): Promise<void> {
  await page.goto(`${cluster.web}/basic/`);
  expect(await page.$eval("[data-testid=dev-notice]", (el) => el.textContent)).toContain("Development sign-in");
  await page.type("[data-testid=basic-sign-in] input[name=userId]", userId);
  await page.type("[data-testid=basic-sign-in] input[name=name]", name);
  await Promise.all([page.waitForNavigation(), page.click("[data-testid=basic-sign-in] button[type=submit]")]);
}

async function sendForm(page: Page, text: string): Promise<string> {
  const clientMessageId = await page.$eval("[data-testid=basic-composer] input[name=clientMessageId]", (el) => (el as HTMLInputElement).value);
  await page.type("[data-testid=basic-composer] textarea[name=body]", text);
  await Promise.all([page.waitForNavigation(), page.click("[data-testid=basic-composer] button[type=submit]")]);
  return clientMessageId;
}

const bodies = (page: Page) => page.$$eval("[data-testid=basic-messages] li .body", (els) => els.map((el) => el.textContent ?? ""));

describe.each(BROWSERS)("%s", (browserName) => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser(browserName);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("JavaScript off: sign in, start a conversation, send, read the other's answer; a resubmitted form stores once", async () => {
    const carla = `carla-${browserName}`;
    const dan = `dan-${browserName}`;
    const carlaContext = await browser.createBrowserContext();
    const carlaPage = await noJsPage(carlaContext);
    const danPage = await noJsPage(await browser.createBrowserContext());
    try {
      // Scripts really are off: the JavaScript app's page renders nothing of the chat.
      await carlaPage.goto(`${cluster.web}/`);
      expect(await carlaPage.$("[data-testid=sign-in]")).toBeNull();

      await signIn(carlaPage, carla, "Carla");
      await signIn(danPage, dan, "Dan");
      expect(await carlaPage.$eval("meta[http-equiv=refresh]", (el) => el.getAttribute("content"))).toMatch(/^\d+$/);

      // Carla starts a conversation with dan and lands on it (redirect after post).
      await carlaPage.type("[data-testid=basic-new-conversation] input[name=members]", dan);
      await Promise.all([carlaPage.waitForNavigation(), carlaPage.click("[data-testid=basic-new-conversation] button[type=submit]")]);
      const conversationPath = new URL(carlaPage.url()).pathname;
      expect(conversationPath).toMatch(/^\/basic\/c\/[0-9a-f-]{36}$/);

      const clientMessageId = await sendForm(carlaPage, "Hello without JavaScript");
      expect(new URL(carlaPage.url()).pathname).toBe(conversationPath); // 303 back to the GET page
      expect(await bodies(carlaPage)).toEqual(["Hello without JavaScript"]);
      // The next form carries a new id, made when the page was rendered.
      expect(await carlaPage.$eval("[data-testid=basic-composer] input[name=clientMessageId]", (el) => (el as HTMLInputElement).value)).not.toBe(clientMessageId);

      // The same form sent again (a double submit, a resend after a lost answer): stored once.
      const cookie = (await carlaContext.cookies()).find((c) => c.name === "parley_basic_token")!;
      const resubmit = await fetch(`${cluster.web}${conversationPath}/messages`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: `${cookie.name}=${cookie.value}` },
        body: new URLSearchParams({ clientMessageId, body: "Hello without JavaScript" }).toString(),
        redirect: "manual",
      });
      expect(resubmit.status).toBe(303);
      await Promise.all([carlaPage.waitForNavigation(), carlaPage.click("[data-testid=refresh]")]);
      expect(await bodies(carlaPage)).toEqual(["Hello without JavaScript"]);

      // Dan's list shows it unread; he opens it (marks it read) and answers.
      await danPage.goto(`${cluster.web}/basic/`);
      const item = `[data-testid=basic-conversations] li[data-conversation-id="${conversationPath.split("/").at(-1)}"]`;
      expect(await danPage.$eval(`${item} [data-testid=unread]`, (el) => el.textContent)).toBe("1");
      await Promise.all([danPage.waitForNavigation(), danPage.click(`${item} a`)]);
      expect(await bodies(danPage)).toEqual(["Hello without JavaScript"]);
      await sendForm(danPage, "Answered <b>as plain text</b> & escaped");
      expect(await bodies(danPage)).toEqual(["Hello without JavaScript", "Answered <b>as plain text</b> & escaped"]);

      // Carla refreshes and reads it.
      await eventually(
        async () => {
          await Promise.all([carlaPage.waitForNavigation(), carlaPage.click("[data-testid=refresh]")]);
          return bodies(carlaPage);
        },
        (b) => b.length === 2 && b[1] === "Answered <b>as plain text</b> & escaped",
        "carla reads dan's answer after a refresh",
      );
      // Signing out forgets the token: the sign-in form again.
      await Promise.all([carlaPage.waitForNavigation(), carlaPage.click("form[action='/basic/sign-out'] button")]);
      expect(await carlaPage.$("[data-testid=basic-sign-in]")).not.toBeNull();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n── service logs ──\n${cluster.logs()}`, { cause: error });
    }
  });
});
