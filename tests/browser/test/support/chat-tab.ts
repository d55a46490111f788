import type { BrowserContext, Page } from "puppeteer-core";

/** Polls `read` until `ok` holds for its value; fails with the last value seen. */
export async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read().catch(() => last);
    if (last !== undefined && ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
}

const FIREFOX_NETWORK_REPORTS = [/^Firefox can.t establish a connection to the server at wss?:/, /^Cross-Origin Request Blocked: .*\(Reason: CORS request did not succeed\)/];

/**
 * One tab of the web chat (examples/web) driven by puppeteer-core, in Chromium or Firefox:
 * the same `data-testid`s the Chromium-only tests use.
 */
export class ChatTab {
  readonly errors: string[] = [];

  private constructor(
    readonly page: Page,
    readonly userId: string,
  ) {
    page.on("pageerror", (error) => {
      const message = (error as Error).message;
      // Firefox (over BiDi) reports failed connections as page errors; a test that stops a
      // gateway expects those. Script errors still fail the test.
      if (FIREFOX_NETWORK_REPORTS.some((re) => re.test(message))) return;
      this.errors.push(`${userId}: ${message}`);
    });
  }

  static async signIn(context: BrowserContext, web: string, gateway: string, userId: string, name: string): Promise<ChatTab> {
    const page = await context.newPage();
    await page.setViewport({ width: 900, height: 620 });
    const tab = new ChatTab(page, userId);
    await page.goto(`${web}/?gateway=${encodeURIComponent(gateway)}`);
    await page.waitForSelector("[data-testid=sign-in] input[name=userId]");
    await page.type("[data-testid=sign-in] input[name=userId]", userId);
    await page.type("[data-testid=sign-in] input[name=name]", name);
    await page.click("[data-testid=sign-in] button[type=submit]");
    await tab.waitOnline();
    return tab;
  }

  async waitOnline(): Promise<void> {
    await this.page.waitForSelector('[data-testid=connection][data-state="online"]', { timeout: 20_000 });
  }

  connectionState(): Promise<string | undefined> {
    return this.page.$eval("[data-testid=connection]", (el) => (el as HTMLElement).dataset.state);
  }

  /** Starts a conversation with `members` and returns its id (the pane it opens). */
  async startConversation(members: string): Promise<string> {
    await this.page.type("[data-testid=new-conversation] input[name=members]", members);
    await this.page.click("[data-testid=new-conversation] button[type=submit]");
    const pane = await this.page.waitForSelector(".pane[data-conversation-id]", { timeout: 20_000 });
    return (await pane!.evaluate((el) => (el as HTMLElement).dataset.conversationId))!;
  }

  async open(conversationId: string): Promise<void> {
    const item = `[data-testid=conversations] li[data-conversation-id="${conversationId}"]`;
    await this.page.waitForSelector(item, { timeout: 20_000 });
    // Found and clicked in one call: the list re-renders as events arrive, which would detach
    // an element found by one call before another clicks it.
    await this.page.$eval(item, (el) => (el as HTMLElement).click());
    await this.page.waitForSelector(`.pane[data-conversation-id="${conversationId}"]`);
  }

  bodies(): Promise<string[]> {
    return this.page.$$eval("[data-testid=messages] li .body", (els) => els.map((el) => el.textContent ?? ""));
  }

  /** `data-*` of every message of the open conversation whose body is `body`. */
  messages(body: string): Promise<{ status: string; ticks: string | undefined }[]> {
    return this.page.$$eval(
      "[data-testid=messages] li",
      (items, wanted) =>
        items
          .filter((li) => li.querySelector(".body")?.textContent === wanted)
          .map((li) => ({ status: (li as HTMLElement).dataset.status ?? "", ticks: (li.querySelector(".ticks") as HTMLElement | null)?.dataset.ticks })),
      body,
    );
  }

  async type(text: string): Promise<void> {
    await this.page.type("[data-testid=composer] input[name=body]", text, { delay: 20 });
  }

  async send(text: string): Promise<void> {
    const input = "[data-testid=composer] input[name=body]";
    await this.page.$eval(input, (el) => ((el as HTMLInputElement).value = ""));
    await this.page.type(input, text);
    await this.page.keyboard.press("Enter");
  }

  typingLine(): Promise<string> {
    return this.page.$eval("[data-testid=typing]", (el) => (el as HTMLElement).innerText);
  }

  /** Pending messages the offline banner counts. */
  queued(): Promise<string | null> {
    return this.page.$eval("[data-testid=offline-banner]", (el) => el.getAttribute("data-queued"));
  }
}
