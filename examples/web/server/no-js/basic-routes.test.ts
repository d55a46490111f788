import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { basicRoutes } from "./basic-routes.js";
import { escapeHtml } from "./html.js";
import { GatewayApi } from "./gateway-api.js";

// The no-JavaScript pages against a stand-in for the gateway's HTTP API (the real gateway:
// tests/browser/test/no-javascript.test.ts). What is checked here: the forms, the cookie,
// escaping, redirect after post, and that a refused send keeps its clientMessageId.

const conversationId = randomUUID();
const gatewayCalls: { method: string; url: string; authorization: string | undefined; body: unknown }[] = [];
let sendAnswer: { status: number; headers?: Record<string, string>; body: unknown } = { status: 201, body: {} };

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let text = "";
    req.on("data", (c: Buffer) => (text += c.toString()));
    req.on("end", () => resolve(text ? JSON.parse(text) : undefined));
  });
}

const now = new Date().toISOString();
const message = (seq: number, body: string) => ({
  id: randomUUID(), conversationId, seq, senderId: "bob", senderName: "Bob <b>", clientMessageId: randomUUID(), kind: "text", body, createdAt: now,
});
const conversation = { id: conversationId, kind: "group", title: "<script>alert(1)</script>", createdBy: "bob", createdAt: now, lastSeq: 2 };

let gateway: Server;
let web: Server;
let base = "";
beforeAll(async () => {
  gateway = createServer((req, res) => {
    void readJson(req).then((body) => {
      gatewayCalls.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(value));
      if (req.url === "/v1/conversations?limit=50") return json(200, { conversations: [{ ...conversation, lastReadSeq: 0, unreadCount: 2, lastMessage: message(2, "hi") }], nextCursor: null });
      if (req.url === `/v1/conversations/${conversationId}`) return json(200, { conversation });
      if (req.url?.startsWith(`/v1/conversations/${conversationId}/messages?`)) return json(200, { messages: [message(2, "second"), message(1, "first <i>")], hasMore: false });
      if (req.url === `/v1/conversations/${conversationId}/read`) return json(200, { ok: true, lastReadSeq: 2, unreadCount: 0 });
      if (req.url === `/v1/conversations/${conversationId}/messages` && req.method === "POST") {
        const sent = body as { clientMessageId: string; body: string };
        return json(sendAnswer.status, sendAnswer.status === 201 ? { ok: true, message: { ...message(3, sent.body), clientMessageId: sent.clientMessageId, senderId: "ann" }, duplicate: false } : sendAnswer.body, sendAnswer.headers);
      }
      json(404, { error: { code: "NOT_FOUND", message: "no such route" } });
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  const api = new GatewayApi([`http://127.0.0.1:${(gateway.address() as AddressInfo).port}`]);
  const routes = basicRoutes({ base: "/basic", token: { secret: "no-js-test-secret-0123456789", ttlSeconds: 600 }, api, pageSize: 50 });
  web = createServer((req, res) => routes(req, res, () => res.writeHead(404).end("next")));
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await Promise.all([gateway, web].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});
beforeEach(() => {
  gatewayCalls.length = 0;
  sendAnswer = { status: 201, body: {} };
});

const form = (fields: Record<string, string>) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString(), redirect: "manual" as const });

async function signIn(): Promise<string> {
  const res = await fetch(`${base}/basic/sign-in`, form({ userId: "ann", name: "Ann" }));
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe("/basic/");
  const setCookie = res.headers.get("set-cookie")!;
  expect(setCookie).toMatch(/^parley_basic_token=[\w.-]+; Path=\/basic; HttpOnly; SameSite=Lax; Max-Age=600$/);
  return setCookie.split(";")[0]!;
}

describe("the no-JavaScript pages", () => {
  it("signed out: the sign-in form, marked as development only; other pages send back to it", async () => {
    const res0 = await fetch(`${base}/basic/`);
    expect(res0.headers.get("content-security-policy")).toMatch(/default-src 'none'/);
    const page = await res0.text();
    expect(page).toContain('data-testid="basic-sign-in"');
    expect(page).toContain("Development sign-in");
    expect(page).not.toContain("<script");
    const res = await fetch(`${base}/basic/c/${conversationId}`, { redirect: "manual" });
    expect([res.status, res.headers.get("location")]).toEqual([303, "/basic/"]);
    expect(await fetch(`${base}/elsewhere`).then((r) => r.text())).toBe("next");
  });

  it("the conversation list (with a meta refresh) and a conversation's messages, escaped, oldest first", async () => {
    const cookie = await signIn();
    const list = await (await fetch(`${base}/basic/`, { headers: { cookie } })).text();
    expect(gatewayCalls[0]?.authorization).toMatch(/^Bearer /);
    expect(list).toContain('<meta http-equiv="refresh" content="15">');
    expect(list).toContain(escapeHtml(conversation.title));
    expect(list).not.toContain("<script>alert");
    expect(list).toContain('<span class="unread" data-testid="unread">2</span>');

    const page = await (await fetch(`${base}/basic/c/${conversationId}`, { headers: { cookie } })).text();
    expect(page.indexOf("first &lt;i&gt;")).toBeLessThan(page.indexOf("second"));
    expect(page).toContain("Bob &lt;b&gt;");
    // Reading the page marks the newest message read.
    expect(gatewayCalls.find((c) => c.url.endsWith("/read"))?.body).toEqual({ seq: 2 });
    const ids = [page, await (await fetch(`${base}/basic/c/${conversationId}`, { headers: { cookie } })).text()].map((p) => /name="clientMessageId" value="([0-9a-f-]{36})"/.exec(p)?.[1]);
    expect(ids[0]).toBeDefined();
    expect(ids[0]).not.toBe(ids[1]); // a new id each render
  });

  it("a send posts the form's clientMessageId and body with the user's token, then redirects to the conversation", async () => {
    const cookie = await signIn();
    const clientMessageId = randomUUID();
    const res = await fetch(`${base}/basic/c/${conversationId}/messages`, { ...form({ clientMessageId, body: "hello" }), headers: { ...form({}).headers, cookie } });
    expect([res.status, res.headers.get("location")]).toEqual([303, `/basic/c/${conversationId}`]);
    const send = gatewayCalls.find((c) => c.method === "POST" && c.url.endsWith("/messages"))!;
    expect(send.body).toEqual({ clientMessageId, body: "hello" });
    expect(send.authorization).toMatch(/^Bearer /);
  });

  it("a refused send shows the form again with the same clientMessageId and the draft, so resending stores once", async () => {
    const cookie = await signIn();
    sendAnswer = { status: 503, headers: { "retry-after": "2" }, body: { error: { code: "UNAVAILABLE", message: "busy" } } };
    const clientMessageId = randomUUID();
    const res = await fetch(`${base}/basic/c/${conversationId}/messages`, { ...form({ clientMessageId, body: "keep <me>" }), headers: { ...form({}).headers, cookie } });
    expect(res.status).toBe(503);
    const page = await res.text();
    expect(page).toContain(`name="clientMessageId" value="${clientMessageId}"`);
    expect(page).toContain("keep &lt;me&gt;</textarea>");
    expect(page).toContain("Try again in 2 s.");
  });

  it("bad forms get a clear answer: a missing clientMessageId 400, an oversized form 413", async () => {
    const cookie = await signIn();
    const headers = { ...form({}).headers, cookie };
    expect((await fetch(`${base}/basic/c/${conversationId}/messages`, { ...form({ body: "x" }), headers })).status).toBe(400);
    expect((await fetch(`${base}/basic/c/${conversationId}/messages`, { ...form({ clientMessageId: randomUUID(), body: "x".repeat(70_000) }), headers })).status).toBe(413);
    expect((await fetch(`${base}/basic/sign-in`, form({ userId: "" }))).status).toBe(400);
    expect(gatewayCalls.filter((c) => c.method === "POST")).toEqual([]);
  });
});
