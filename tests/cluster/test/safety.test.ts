import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWebhookNotifier } from "@parley/delivery";
import { HttpRoutes, type Message } from "@parley/protocol";
import { collect, startCluster, type Cluster, type ClientSocket } from "./cluster.js";
import { startWebhookReceiver } from "./webhook-receiver.js";

/**
 * Safety and moderation (protocol.md v1.1, "Safety" and "Administration") through two gateways,
 * over sockets and HTTP, with the delivery service's push path behind a real webhook receiver.
 */

const COLLAPSE_MS = 300;
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
let cluster: Cluster;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
  cluster = await startCluster({
    gateways: 2,
    delivery: {
      notifier: createWebhookNotifier({ url: receiver.url, secret: "safety-webhook-secret-0123456789", timeoutMs: 2_000 }),
      config: { notifications: { collapseMs: COLLAPSE_MS, attempts: 2, backoffMs: 100 } },
    },
  });
});
afterAll(async () => {
  await cluster?.stop();
  await receiver?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const admin = (sub: string) => cluster.token(sub, undefined, { claims: { parley_role: "admin" } });
const service = (sub: string) => cluster.token(sub, undefined, { claims: { parley_role: "service" } });

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 8_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(25);
  }
}

async function httpSend(token: string, conversationId: string, body: string, gateway = 0, kind?: string) {
  return cluster.http(gateway, "POST", `/v1/conversations/${conversationId}/messages`, {
    token,
    body: { clientMessageId: randomUUID(), body, ...(kind ? { kind } : {}) },
  });
}

async function socketSend(socket: ClientSocket, conversationId: string, body: string) {
  return socket.emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body });
}

/** Every `event` the socket hears for `ms` (to show that something did NOT arrive). */
function listen<T>(socket: ClientSocket, event: "typing" | "presence" | "message:new", ms: number): Promise<T[]> {
  const got: T[] = [];
  const on = (p: T) => got.push(p);
  socket.on(event, on as never);
  return sleep(ms).then(() => {
    socket.off(event, on as never);
    return got;
  });
}

async function refusal(connecting: Promise<unknown>): Promise<string | undefined> {
  try {
    await connecting;
  } catch (err) {
    return (err as Error & { data?: { code?: string } }).data?.code;
  }
  throw new Error("the handshake was accepted");
}

async function auditActions(): Promise<{ action: string; actorId: string; targetId: string }[]> {
  const res = await cluster.http(1, "GET", "/v1/admin/audit?limit=200", { token: await admin("s-auditor") });
  expect(res.status).toBe(200);
  return HttpRoutes.adminAudit.reply.parse(res.body).entries;
}

describe("blocks", () => {
  it("user:block over a socket and PUT /v1/blocks: listed by GET /v1/blocks and session:ready, heard by the blocker's other devices", async () => {
    const ann = await cluster.token("b1-ann");
    const other = await cluster.connect(1, ann);
    const changed = collect(other, "blocks:changed", 2);
    const first = await cluster.connect(0, ann);
    expect(await first.emitWithAck("user:block", { userId: "b1-bob" })).toEqual({ ok: true });
    expect((await cluster.http(1, "PUT", "/v1/blocks/b1-cat", { token: ann })).status).toBe(204);
    // A repeat changes nothing and is answered the same.
    expect(await first.emitWithAck("user:block", { userId: "b1-bob" })).toEqual({ ok: true });
    expect((await changed).map((c) => c.userIds)).toEqual([["b1-bob"], ["b1-bob", "b1-cat"]]);

    for (const gateway of [0, 1]) {
      const res = await cluster.http(gateway, "GET", "/v1/blocks", { token: ann });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ userIds: ["b1-bob", "b1-cat"] });
    }
    const raw = io(cluster.url(0), { auth: { token: ann }, transports: ["websocket"], forceNew: true, reconnection: false });
    const payload = await new Promise<{ blockedUserIds?: string[] }>((resolve) => raw.once("session:ready", resolve));
    raw.disconnect();
    expect(payload.blockedUserIds).toEqual(["b1-bob", "b1-cat"]);

    expect(await first.emitWithAck("user:unblock", { userId: "b1-cat" })).toEqual({ ok: true });
    expect((await cluster.http(0, "DELETE", "/v1/blocks/b1-bob", { token: ann })).status).toBe(204);
    expect((await cluster.http(1, "GET", "/v1/blocks", { token: ann })).body).toEqual({ userIds: [] });

    const self = await first.emitWithAck("user:block", { userId: "b1-ann" });
    expect(self).toMatchObject({ ok: false, error: { code: "VALIDATION" } });
  });

  it("refuses the blocked user a direct conversation with the blocker and adding them anywhere (FORBIDDEN), on both gateways", async () => {
    const ann = await cluster.token("b2-ann");
    const bob = await cluster.token("b2-bob");
    expect((await cluster.http(0, "PUT", "/v1/blocks/b2-bob", { token: ann })).status).toBe(204);
    for (const gateway of [0, 1]) {
      const direct = await cluster.http(gateway, "POST", "/v1/conversations", { token: bob, body: { kind: "direct", memberIds: ["b2-ann"] } });
      expect(direct.status).toBe(403);
      expect(direct.body.error.code).toBe("FORBIDDEN");
      const group = await cluster.http(gateway, "POST", "/v1/conversations", { token: bob, body: { kind: "group", memberIds: ["b2-ann", "b2-cat"] } });
      expect(group.status).toBe(403);
    }
    const own = await cluster.createConversation(bob, ["b2-cat"]);
    const add = await cluster.http(1, "POST", `/v1/conversations/${own.id}/members`, { token: bob, body: { userIds: ["b2-ann"] } });
    expect(add.status).toBe(403);
    expect(add.body.error.code).toBe("FORBIDDEN");
    // The blocker is not refused: the contract restricts the blocked user.
    expect((await cluster.http(0, "POST", `/v1/conversations/${own.id}/members`, { token: bob, body: { userIds: ["b2-dan"] } })).status).toBe(200);
  });

  it("refuses the blocked user's sends in their direct conversation, socket and HTTP; group messages are still stored and delivered", async () => {
    const ann = await cluster.token("b3-ann");
    const bob = await cluster.token("b3-bob");
    const direct = await cluster.createConversation(ann, ["b3-bob"], "direct");
    const group = await cluster.createConversation(ann, ["b3-bob", "b3-cat"]);
    const annSocket = await cluster.connect(0, ann);
    const bobSocket = await cluster.connect(1, bob);
    expect((await socketSend(bobSocket, direct.id, "before")).ok).toBe(true);

    expect(await annSocket.emitWithAck("user:block", { userId: "b3-bob" })).toEqual({ ok: true });
    const viaSocket = await socketSend(bobSocket, direct.id, "after");
    expect(viaSocket).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    for (const gateway of [0, 1]) {
      const viaHttp = await httpSend(bob, direct.id, "after", gateway);
      expect(viaHttp.status).toBe(403);
      expect(viaHttp.body.error.code).toBe("FORBIDDEN");
    }

    const heard = collect(annSocket, "message:new", 1);
    const sent = await httpSend(bob, group.id, "in the group", 1);
    expect(sent.status).toBe(201);
    expect((await heard)[0]).toMatchObject({ id: sent.body.message.id, senderId: "b3-bob" });

    // Unblocked: the direct conversation works again.
    expect((await cluster.http(1, "DELETE", "/v1/blocks/b3-bob", { token: ann })).status).toBe(204);
    expect((await socketSend(bobSocket, direct.id, "again")).ok).toBe(true);
  });

  it("hides typing and presence between the two, in both directions, and keeps them for everyone else", async () => {
    const ann = await cluster.token("b4-ann");
    const bob = await cluster.token("b4-bob");
    const cat = await cluster.token("b4-cat");
    const group = await cluster.createConversation(ann, ["b4-bob", "b4-cat"]);
    const annSocket = await cluster.connect(0, ann);
    const bobSocket = await cluster.connect(1, bob);
    const catSocket = await cluster.connect(0, cat);
    expect((await cluster.http(1, "PUT", "/v1/blocks/b4-bob", { token: ann })).status).toBe(204);

    const annHears = listen<{ userId: string }>(annSocket, "typing", 800);
    const catHears = listen<{ userId: string }>(catSocket, "typing", 800);
    const bobHears = listen<{ userId: string }>(bobSocket, "typing", 800);
    expect((await bobSocket.emitWithAck("typing:start", { conversationId: group.id })).ok).toBe(true);
    expect((await annSocket.emitWithAck("typing:start", { conversationId: group.id })).ok).toBe(true);
    expect((await annHears).map((t) => t.userId)).not.toContain("b4-bob");
    expect((await bobHears).map((t) => t.userId)).not.toContain("b4-ann");
    expect((await catHears).map((t) => t.userId).sort()).toEqual(["b4-ann", "b4-bob"]);

    for (const [socket, asked] of [[annSocket, "b4-bob"], [bobSocket, "b4-ann"]] as const) {
      const ack = await socket.emitWithAck("presence:query", { userIds: [asked, "b4-cat"] });
      if (!ack.ok) throw new Error(JSON.stringify(ack));
      expect(ack.presence.map((p) => p.userId)).toEqual(["b4-cat"]);
    }

    // Presence announcements: bob going offline and online reaches cat, not ann.
    const annPresence = listen<{ userId: string }>(annSocket, "presence", 2_500);
    const catPresence = listen<{ userId: string }>(catSocket, "presence", 2_500);
    bobSocket.disconnect();
    await sleep(300);
    await cluster.connect(1, bob);
    expect((await annPresence).map((p) => p.userId)).not.toContain("b4-bob");
    expect((await catPresence).map((p) => p.userId)).toContain("b4-bob");
  });
});

describe("mutes and blocks on the push path", () => {
  it("sends no push to a member who muted the conversation or blocks the sender; others are notified, unread still counts", async () => {
    const sid = await cluster.token("m1-sid");
    const muted = await cluster.token("m1-mia");
    const blocker = await cluster.token("m1-bea");
    const group = await cluster.createConversation(sid, ["m1-mia", "m1-bea", "m1-ned"]);
    // Mute over a socket (with an end far ahead) and over HTTP (until unmuted); block over HTTP.
    const miaSocket = await cluster.connect(0, muted);
    expect(await miaSocket.emitWithAck("conversation:mute", { conversationId: group.id, until: new Date(Date.now() + 3_600_000).toISOString() })).toEqual({ ok: true });
    miaSocket.disconnect();
    expect((await cluster.http(1, "PUT", `/v1/conversations/${group.id}/mute`, { token: muted, body: {} })).status).toBe(204);
    expect((await cluster.http(0, "PUT", "/v1/blocks/m1-sid", { token: blocker })).status).toBe(204);
    await sleep(200);

    expect((await httpSend(sid, group.id, "hello all", 1)).status).toBe(201);
    await until(() => receiver.for("m1-ned").length === 1);
    await sleep(COLLAPSE_MS * 3);
    expect(receiver.for("m1-mia")).toHaveLength(0);
    expect(receiver.for("m1-bea")).toHaveLength(0);
    const list = await cluster.http(0, "GET", "/v1/conversations", { token: muted });
    expect(list.body.conversations.find((c: { id: string }) => c.id === group.id).unreadCount).toBe(1);

    // Unmuted (and an ended mute): notified again.
    expect((await cluster.http(0, "DELETE", `/v1/conversations/${group.id}/mute`, { token: muted })).status).toBe(204);
    expect((await httpSend(sid, group.id, "again", 0)).status).toBe(201);
    await until(() => receiver.for("m1-mia").length === 1);
    expect(receiver.for("m1-bea")).toHaveLength(0);
  });

  it("refuses a mute of a conversation the caller is not in (FORBIDDEN)", async () => {
    const sid = await cluster.token("m2-sid");
    const group = await cluster.createConversation(sid, ["m2-ned"]);
    const stranger = await cluster.connect(1, await cluster.token("m2-eve"));
    expect(await stranger.emitWithAck("conversation:mute", { conversationId: group.id })).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    const res = await cluster.http(0, "DELETE", `/v1/conversations/${group.id}/mute`, { token: await cluster.token("m2-eve") });
    expect(res.status).toBe(403);
  });
});

describe("reports and the moderation queue", () => {
  it("files one report per reporter and message (socket and HTTP), refuses one of a message the reporter cannot see (NOT_FOUND), and admins resolve them", async () => {
    const ann = await cluster.token("r1-ann");
    const bob = await cluster.token("r1-bob");
    const eve = await cluster.token("r1-eve");
    const group = await cluster.createConversation(ann, ["r1-bob"]);
    const sent = await httpSend(bob, group.id, "something nasty", 1);
    const message = sent.body.message as Message;

    const annSocket = await cluster.connect(0, ann);
    const first = await annSocket.emitWithAck("message:report", { messageId: message.id, reason: "abuse", note: "rude" });
    if (!first.ok) throw new Error(JSON.stringify(first));
    // The same reporter again, over HTTP on the other gateway: the first report's id (200), nothing stored twice.
    const again = await cluster.http(1, "POST", `/v1/messages/${message.id}/report`, { token: ann, body: { reason: "spam" } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ reportId: first.reportId });

    // A stranger cannot report what they cannot see; an unknown id neither; bad input is VALIDATION.
    const stranger = await cluster.http(0, "POST", `/v1/messages/${message.id}/report`, { token: eve, body: { reason: "spam" } });
    expect(stranger.status).toBe(404);
    expect(stranger.body.error.code).toBe("NOT_FOUND");
    const eveSocket = await cluster.connect(1, eve);
    expect(await eveSocket.emitWithAck("message:report", { messageId: message.id, reason: "spam" })).toMatchObject({ ok: false, error: { code: "NOT_FOUND" } });
    expect((await cluster.http(1, "POST", `/v1/messages/${randomUUID()}/report`, { token: ann, body: { reason: "spam" } })).status).toBe(404);
    expect((await cluster.http(1, "POST", `/v1/messages/${message.id}/report`, { token: ann, body: { reason: "bored" } })).status).toBe(400);

    // A second reporter files their own: 201.
    const second = await cluster.http(0, "POST", `/v1/messages/${message.id}/report`, { token: bob, body: { reason: "other" } });
    expect(second.status).toBe(201);

    // Non-admins on the admin routes: FORBIDDEN.
    expect((await cluster.http(0, "GET", "/v1/admin/reports", { token: ann })).status).toBe(403);
    expect((await cluster.http(1, "POST", `/v1/admin/reports/${first.reportId}/resolve`, { token: ann, body: { action: "dismiss" } })).status).toBe(403);

    const mod = await admin("r1-mod");
    const open = await cluster.http(1, "GET", "/v1/admin/reports?status=open&limit=200", { token: mod });
    expect(open.status).toBe(200);
    const page = HttpRoutes.adminReports.reply.parse(open.body);
    const mine = page.reports.filter((r) => r.messageId === message.id);
    expect(mine.map((r) => r.reporterId).sort()).toEqual(["r1-ann", "r1-bob"]);
    expect(mine.find((r) => r.reporterId === "r1-ann")).toMatchObject({ reason: "abuse", note: "rude", status: "open", reportedUserId: "r1-bob", message: { body: "something nasty" } });

    const dismissed = await cluster.http(0, "POST", `/v1/admin/reports/${second.body.reportId}/resolve`, { token: mod, body: { action: "dismiss" } });
    expect(dismissed.status).toBe(200);
    expect(dismissed.body.report).toMatchObject({ status: "resolved", action: "dismiss", resolvedBy: "r1-mod" });
    // Resolved again with another action: CONFLICT; with the same: answered as it is.
    expect((await cluster.http(1, "POST", `/v1/admin/reports/${second.body.reportId}/resolve`, { token: mod, body: { action: "ban_user" } })).status).toBe(409);
    expect((await cluster.http(1, "POST", `/v1/admin/reports/${second.body.reportId}/resolve`, { token: mod, body: { action: "dismiss" } })).status).toBe(200);

    // delete_message: a tombstone for every member, announced as deletions are.
    const tombstone = collect(annSocket, "message:updated", 1);
    const deleted = await cluster.http(1, "POST", `/v1/admin/reports/${first.reportId}/resolve`, { token: mod, body: { action: "delete_message" } });
    expect(deleted.status).toBe(200);
    expect(deleted.body.report.message).toMatchObject({ id: message.id, body: null });
    expect((await tombstone)[0]).toMatchObject({ id: message.id, body: null });
    const history = await cluster.http(0, "GET", `/v1/conversations/${group.id}/messages`, { token: ann });
    expect(history.body.messages.find((m: Message) => m.id === message.id)).toMatchObject({ body: null });

    const resolved = await cluster.http(0, "GET", "/v1/admin/reports?status=resolved&limit=200", { token: mod });
    expect(resolved.body.reports.filter((r: { messageId: string }) => r.messageId === message.id)).toHaveLength(2);
    expect((await cluster.http(0, "POST", `/v1/admin/reports/${randomUUID()}/resolve`, { token: mod, body: { action: "dismiss" } })).status).toBe(404);
  });

  it("pages the queue with its cursor", async () => {
    const ann = await cluster.token("r2-ann");
    const group = await cluster.createConversation(ann, ["r2-bob"]);
    for (let i = 0; i < 3; i++) {
      const sent = await httpSend(await cluster.token("r2-bob"), group.id, `m${i}`);
      expect((await cluster.http(0, "POST", `/v1/messages/${sent.body.message.id}/report`, { token: ann, body: { reason: "spam" } })).status).toBe(201);
    }
    const mod = await admin("r2-mod");
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const res: { status: number; body: { reports: { id: string }[]; nextCursor: string | null } } = await cluster.http(1, "GET", `/v1/admin/reports?status=open&limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: mod });
      expect(res.status).toBe(200);
      expect(res.body.reports.length).toBeLessThanOrEqual(2);
      for (const r of res.body.reports) {
        expect(seen.has(r.id)).toBe(false);
        seen.add(r.id);
      }
      cursor = res.body.nextCursor;
    } while (cursor);
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });
});

describe("bans", () => {
  it("closes every socket of the user on every pod within a second, refuses handshakes AUTH_BANNED and HTTP 403, until unbanned", async () => {
    const mal = await cluster.token("x1-mal");
    const sockets = [await cluster.connect(0, mal), await cluster.connect(1, mal), await cluster.connect(1, mal)];
    const closed = sockets.map((s) => new Promise<number>((resolve) => s.once("disconnect", () => resolve(Date.now()))));
    const started = Date.now();
    expect((await cluster.http(0, "PUT", "/v1/admin/users/x1-mal/ban", { token: mal, body: {} })).status).toBe(403);
    expect((await cluster.http(0, "PUT", "/v1/admin/users/x1-mal/ban", { token: await admin("x1-mod"), body: { reason: "spam waves" } })).status).toBe(204);
    const times = await Promise.all(closed);
    for (const t of times) expect(t - started).toBeLessThan(1_000);

    for (const gateway of [0, 1]) {
      expect(await refusal(cluster.connect(gateway, mal))).toBe("AUTH_BANNED");
      const res = await cluster.http(gateway, "GET", "/v1/conversations", { token: mal });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }

    expect((await cluster.http(1, "DELETE", "/v1/admin/users/x1-mal/ban", { token: await admin("x1-mod") })).status).toBe(204);
    for (const gateway of [0, 1]) {
      await cluster.connect(gateway, mal);
      expect((await cluster.http(gateway, "GET", "/v1/conversations", { token: mal })).status).toBe(200);
    }
    const actions = (await auditActions()).filter((e) => e.targetId === "x1-mal").map((e) => e.action);
    expect(actions).toEqual(["user.unban", "user.ban"]);
  });

  it("lifts a ban by itself at its end time", async () => {
    const tim = await cluster.token("x2-tim");
    const until = new Date(Date.now() + 1_500).toISOString();
    expect((await cluster.http(1, "PUT", "/v1/admin/users/x2-tim/ban", { token: await admin("x2-mod"), body: { until } })).status).toBe(204);
    expect(await refusal(cluster.connect(0, tim))).toBe("AUTH_BANNED");
    expect((await cluster.http(1, "GET", "/v1/blocks", { token: tim })).status).toBe(403);
    await sleep(Date.parse(until) - Date.now() + 100);
    for (const gateway of [0, 1]) {
      await cluster.connect(gateway, tim);
      expect((await cluster.http(gateway, "GET", "/v1/blocks", { token: tim })).status).toBe(200);
    }
  });

  it("resolving a report with ban_user bans the reported sender", async () => {
    const ann = await cluster.token("x3-ann");
    const troll = await cluster.token("x3-troll");
    const group = await cluster.createConversation(ann, ["x3-troll"]);
    const trollSocket = await cluster.connect(1, troll);
    const gone = new Promise<void>((resolve) => trollSocket.once("disconnect", () => resolve()));
    const sent = await socketSend(trollSocket, group.id, "spam spam");
    if (!sent.ok) throw new Error(JSON.stringify(sent));
    const report = await cluster.http(0, "POST", `/v1/messages/${sent.message.id}/report`, { token: ann, body: { reason: "spam" } });
    const res = await cluster.http(0, "POST", `/v1/admin/reports/${report.body.reportId}/resolve`, { token: await admin("x3-mod"), body: { action: "ban_user" } });
    expect(res.status).toBe(200);
    expect(res.body.report).toMatchObject({ action: "ban_user", status: "resolved" });
    await gone;
    expect(await refusal(cluster.connect(0, troll))).toBe("AUTH_BANNED");
  });
});

describe("the service role", () => {
  it("posts kind system to any conversation as its own sub without being a member; everyone else is refused FORBIDDEN", async () => {
    const ann = await cluster.token("v1-ann");
    const group = await cluster.createConversation(ann, ["v1-bob"]);
    const annSocket = await cluster.connect(1, ann);
    const heard = collect(annSocket, "message:new", 1);
    const bot = await service("v1-bot");
    const posted = await httpSend(bot, group.id, "Deploy finished", 0, "system");
    expect(posted.status).toBe(201);
    expect(posted.body.message).toMatchObject({ kind: "system", senderId: "v1-bot", body: "Deploy finished", conversationId: group.id });
    expect((await heard)[0]).toMatchObject({ id: posted.body.message.id, kind: "system" });

    // An ordinary member, and an admin, may not send system messages.
    for (const token of [ann, await admin("v1-mod")]) {
      const res = await httpSend(token, group.id, "fake notice", 1, "system");
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    // The service is not a member: its ordinary messages are refused as anyone's.
    expect((await httpSend(bot, group.id, "hello", 1)).status).toBe(403);
    // A conversation that does not exist: FORBIDDEN (existence is not revealed), nothing stored.
    expect((await httpSend(bot, randomUUID(), "nowhere", 1, "system")).status).toBe(403);
    // Over a socket, kind system stays outside the catalog.
    const botSocket = await cluster.connect(0, bot);
    const viaSocket = await botSocket.emitWithAck("message:send", { conversationId: group.id, clientMessageId: randomUUID(), body: "x", kind: "system" as never });
    expect(viaSocket).toMatchObject({ ok: false, error: { code: "VALIDATION" } });

    const audit = (await auditActions()).filter((e) => e.action === "message.system_send" && e.targetId === group.id);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorId: "v1-bot" });
  });

  it("an idempotent retry of a service's message answers the stored one", async () => {
    const ann = await cluster.token("v2-ann");
    const group = await cluster.createConversation(ann, ["v2-bob"]);
    const bot = await service("v2-bot");
    const body = { clientMessageId: randomUUID(), body: "once", kind: "system" };
    const first = await cluster.http(0, "POST", `/v1/conversations/${group.id}/messages`, { token: bot, body });
    const again = await cluster.http(1, "POST", `/v1/conversations/${group.id}/messages`, { token: bot, body });
    expect(first.status).toBe(201);
    expect(again.body).toMatchObject({ duplicate: true, message: { id: first.body.message.id, seq: first.body.message.seq } });
  });
});

describe("the audit log", () => {
  it("records blocks, reports, resolutions, bans and service sends: who, what, when, on what", async () => {
    const entries = await auditActions();
    const actions = new Set(entries.map((e) => e.action));
    for (const a of ["user.block", "user.unblock", "message.report", "report.resolve", "user.ban", "user.unban", "message.delete", "message.system_send"]) {
      expect(actions).toContain(a);
    }
    // Newest first.
    expect(entries.filter((e) => e.action === "user.block" && e.actorId === "b1-ann").map((e) => e.targetId)).toEqual(["b1-cat", "b1-bob"]);
  });
});
