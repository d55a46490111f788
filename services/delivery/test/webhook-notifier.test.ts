import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NotificationRejectedError } from "../src/notifications/notification-rejected-error.js";
import type { Notification } from "../src/notifications/notifier.js";
import { createWebhookNotifier } from "../src/notifications/webhook-notifier.js";

let server: Server;
let url: string;
let next: { status: number; delayMs?: number } = { status: 200 };

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const answer = () => res.writeHead(next.status, next.status === 302 ? { location: "https://elsewhere.example/" } : {}).end();
      if (next.delayMs) setTimeout(answer, next.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const notification: Notification = {
  id: "push-abc-1",
  recipientId: "bob",
  conversationId: "018f0000-0000-7000-8000-000000000001",
  count: 2,
  firstSeq: 1,
  lastSeq: 2,
  latest: { messageId: "018f0000-0000-7000-8000-000000000002", seq: 2, senderId: "alice", senderName: "Alice", kind: "text", preview: "hi", createdAt: new Date().toISOString() },
};

describe("webhook notifier (real HTTP)", () => {
  const notifier = () => createWebhookNotifier({ url, secret: "s".repeat(32), timeoutMs: 300 });

  it("succeeds on 2xx", async () => {
    for (const status of [200, 202, 204]) {
      next = { status };
      await expect(notifier().send(notification)).resolves.toBeUndefined();
    }
  });

  it("throws a retryable error on 408, 429, 5xx and timeouts", async () => {
    for (const status of [408, 429, 500, 503]) {
      next = { status };
      const err = await notifier().send(notification).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(NotificationRejectedError);
    }
    next = { status: 200, delayMs: 1_000 };
    const err = await notifier().send(notification).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(NotificationRejectedError);
  });

  it("refuses for good on other 4xx and on redirects", async () => {
    for (const status of [400, 401, 404, 410, 302]) {
      next = { status };
      const err = await notifier().send(notification).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotificationRejectedError);
      expect((err as NotificationRejectedError).status).toBe(status);
    }
  });
});
