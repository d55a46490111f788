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

/**
 * A page with scripts off. Chromium: switched off for the page (DevTools). Firefox ESR's
 * WebDriver BiDi has no such switch (`emulation.setScriptingEnabled` is unknown to it), and
 * with its `javascript.enabled` preference off puppeteer loses the page after a form post (its
 * queries go unanswered); there the pages run with scripts forbidden by their own
 * Content-Security-Policy (`script-src` falls back to `default-src 'none'`), checked below.
 */
async function noJsPage(context: BrowserContext, browserName: string): Promise<Page> {
  const page = await context.newPage();
  if (browserName === "chromium") await page.setJavaScriptEnabled(false);
  return page;
}

/**
 * Clicks a link or submit button and waits for the page it leads to. A real mouse click at
 * the element's centre: Firefox with scripts off loses puppeteer's element click (it runs a
 * script in the page) when the click navigates, and its navigation events with it.
 */
async function navigateBy(page: Page, selector: string): Promise<void> {
  await within(5_000, page.$eval("html", (el) => el.setAttribute("data-before-navigation", "")), "marking the page");
  const element = await within(5_000, page.$(selector), `finding ${selector}`);
  if (!element) throw new Error(`no ${selector} on ${page.url()}`);
  await within(5_000, element.evaluate((el) => el.scrollIntoView({ block: "center" })), `scrolling to ${selector}`);
  const box = (await within(5_000, element.boundingBox(), `the box of ${selector}`))!;
  await within(5_000, page.mouse.click(box.x + box.width / 2, box.y + box.height / 2), `clicking ${selector}`);
  await eventually(
    // Bounded: a call into a document that is being replaced can go unanswered.
    () => within(1_000, page.$eval("html", (el) => !el.hasAttribute("data-before-navigation") && document.readyState === "complete")),
    (done) => done,
    `the page after clicking ${selector}`,
    10_000,
  );
}

/** `work`, or a failure naming `what` after `ms` (a call the browser leaves unanswered fails the test instead of hanging it). */
function within<T>(ms: number, work: Promise<T>, what = "the browser's answer"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

async function signIn(page: Page, userId: string, name: string): Promise<void> {
  await page.goto(`${cluster.web}/basic/`);
  expect(await page.$eval("[data-testid=dev-notice]", (el) => el.textContent)).toContain("Development sign-in");
  await page.type("[data-testid=basic-sign-in] input[name=userId]", userId);
  await page.type("[data-testid=basic-sign-in] input[name=name]", name);
  await navigateBy(page, "[data-testid=basic-sign-in] button[type=submit]");
}

async function sendForm(page: Page, text: string): Promise<string> {
  const clientMessageId = await page.$eval("[data-testid=basic-composer] input[name=clientMessageId]", (el) => (el as HTMLInputElement).value);
  await page.type("[data-testid=basic-composer] textarea[name=body]", text);
  await navigateBy(page, "[data-testid=basic-composer] button[type=submit]");
  return clientMessageId;
}

async function bodies(page: Page): Promise<string[]> {
  const items = await within(5_000, page.$$("[data-testid=basic-messages] li .body"), "the messages");
  return Promise.all(items.map((item) => within(5_000, item.evaluate((el) => el.textContent ?? ""), "a message's text")));
}

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
    const carlaPage = await noJsPage(carlaContext, browserName);
    const danPage = await noJsPage(await browser.createBrowserContext(), browserName);
    try {
      if (browserName === "chromium") {
        // Scripts really are off: the JavaScript app's page renders nothing of the chat.
        await carlaPage.goto(`${cluster.web}/`);
        expect(await carlaPage.$("[data-testid=sign-in]")).toBeNull();
      }
      // Every /basic page forbids scripts itself.
      const policy = (await fetch(`${cluster.web}/basic/`)).headers.get("content-security-policy");
      expect(policy).toContain("default-src 'none'");
      expect(policy).not.toContain("script-src");

      await signIn(carlaPage, carla, "Carla");
      await signIn(danPage, dan, "Dan");
      expect(await carlaPage.$eval("meta[http-equiv=refresh]", (el) => el.getAttribute("content"))).toMatch(/^\d+$/);

      // Carla starts a conversation with dan and lands on it (redirect after post).
      await carlaPage.type("[data-testid=basic-new-conversation] input[name=members]", dan);
      await navigateBy(carlaPage, "[data-testid=basic-new-conversation] button[type=submit]");
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
      await navigateBy(carlaPage, "[data-testid=refresh]");
      expect(await bodies(carlaPage)).toEqual(["Hello without JavaScript"]);

      // Dan's list shows it unread; he opens it (marks it read) and answers.
      await danPage.goto(`${cluster.web}/basic/`);
      const item = `[data-testid=basic-conversations] li[data-conversation-id="${conversationPath.split("/").at(-1)}"]`;
      expect(await danPage.$eval(`${item} [data-testid=unread]`, (el) => el.textContent)).toBe("1");
      await navigateBy(danPage, `${item} a`);
      expect(await bodies(danPage)).toEqual(["Hello without JavaScript"]);
      await sendForm(danPage, "Answered <b>as plain text</b> & escaped");
      expect(await bodies(danPage)).toEqual(["Hello without JavaScript", "Answered <b>as plain text</b> & escaped"]);

      // Carla refreshes and reads it.
      await eventually(
        async () => {
          await navigateBy(carlaPage, "[data-testid=refresh]");
          return bodies(carlaPage);
        },
        (b) => b.length === 2 && b[1] === "Answered <b>as plain text</b> & escaped",
        "carla reads dan's answer after a refresh",
      );
      // Signing out forgets the token: the sign-in form again.
      await navigateBy(carlaPage, "form[action='/basic/sign-out'] button");
      expect(await carlaPage.$("[data-testid=basic-sign-in]")).not.toBeNull();
    } catch (error) {
      throw new Error(`${(error as Error).message}\n── service logs ──\n${cluster.logs()}`, { cause: error });
    }
  });
});
