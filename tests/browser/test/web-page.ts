import type { BrowserContext, Page } from "playwright-core";

/** Polls `read` until `ok` holds for its value; fails with the last value seen. */
export async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms; last seen ${JSON.stringify(last)}`);
}

/** One user of the web chat in a browser context of their own (own storage, own network switch). */
export class ChatUser {
  readonly errors: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly userId: string,
  ) {
    // A script error in the page fails the test (checked at the end).
    page.on("pageerror", (error) => this.errors.push(`${userId}: ${error.message}`));
  }

  /** `admin`: ticks the development sign-in's "Sign in as admin" (a token with `parley_role: "admin"`). */
  static async signIn(context: BrowserContext, web: string, gateway: string, userId: string, name: string, options: { admin?: boolean } = {}): Promise<ChatUser> {
    const page = await context.newPage();
    const user = new ChatUser(context, page, userId);
    await page.goto(`${web}/?gateway=${encodeURIComponent(gateway)}`);
    await page.fill('[data-testid=sign-in] input[name=userId]', userId);
    await page.fill('[data-testid=sign-in] input[name=name]', name);
    if (options.admin) await page.check("[data-testid=sign-in] input[name=admin]");
    await page.click('[data-testid=sign-in] button[type=submit]');
    await user.waitOnline();
    return user;
  }

  waitOnline(): Promise<unknown> {
    return this.page.waitForSelector('[data-testid=connection][data-state="online"]', { timeout: 20_000 });
  }

  conversationItem(conversationId: string) {
    return this.page.locator(`[data-testid=conversations] li[data-conversation-id="${conversationId}"]`);
  }

  async open(conversationId: string): Promise<void> {
    await this.conversationItem(conversationId).click();
    await this.page.waitForSelector(`.pane[data-conversation-id="${conversationId}"]`);
  }

  /** Message bodies in the open conversation, top to bottom. */
  bodies(): Promise<string[]> {
    return this.page.locator("[data-testid=messages] li .body").allTextContents();
  }

  /** `data-*` of every message of the open conversation whose body is `body`. */
  messages(body: string): Promise<{ status: string; ticks: string | undefined }[]> {
    return this.page.locator("[data-testid=messages] li").evaluateAll(
      (items, wanted) =>
        items
          .filter((li) => li.querySelector(".body")?.textContent === wanted)
          .map((li) => ({ status: (li as HTMLElement).dataset.status ?? "", ticks: (li.querySelector(".ticks") as HTMLElement | null)?.dataset.ticks })),
      body,
    );
  }

  async type(text: string): Promise<void> {
    await this.page.locator("[data-testid=composer] input[name=body]").pressSequentially(text, { delay: 20 });
  }

  async send(text: string): Promise<void> {
    await this.page.fill("[data-testid=composer] input[name=body]", text);
    await this.page.press("[data-testid=composer] input[name=body]", "Enter");
  }

  /** Records in this user's IndexedDB outbox (what survives the tab), read by the page itself. */
  storedOutbox(): Promise<number> {
    return this.page.evaluate(
      (name) =>
        new Promise<number>((resolve, reject) => {
          const open = indexedDB.open(name);
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            if (!db.objectStoreNames.contains("outbox")) return resolve(0);
            const count = db.transaction("outbox").objectStore("outbox").count();
            count.onsuccess = () => resolve(count.result);
            count.onerror = () => reject(count.error);
          };
        }),
      `parley-outbox:${this.userId}`,
    );
  }

  typingLine(): Promise<string> {
    return this.page.locator("[data-testid=typing]").innerText();
  }
}
