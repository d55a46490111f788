import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConversationSchema, ConversationSummarySchema, MessageSchema, type Message } from "@parley/protocol";
import { collect, startCluster, type Cluster, type ClientSocket } from "./cluster.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with every `event` the socket hears for `ms` (to show that something did NOT arrive). */
function listen<T>(socket: ClientSocket, event: "message:new", ms: number): Promise<T[]> {
  const got: T[] = [];
  const on = (p: T) => got.push(p);
  socket.on(event, on as never);
  return sleep(ms).then(() => {
    socket.off(event, on as never);
    return got;
  });
}

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
});
afterAll(async () => {
  await cluster?.stop();
});

async function send(token: string, conversationId: string, body: string, gateway = 0): Promise<Message> {
  const res = await cluster.http(gateway, "POST", `/v1/conversations/${conversationId}/messages`, { token, body: { clientMessageId: randomUUID(), body } });
  if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.message as Message;
}

describe("POST /v1/conversations", () => {
  it("creates (201) with the caller as owner and member, whether or not memberIds names them", async () => {
    const ann = await cluster.token("h-ann", "Ann");
    for (const memberIds of [["h-ben", "h-cat"], ["h-ann", "h-ben", "h-cat", "h-ben"]]) {
      const res = await cluster.http(0, "POST", "/v1/conversations", { token: ann, body: { kind: "group", memberIds, title: "  Team  " } });
      expect(res.status).toBe(201);
      const conversation = ConversationSchema.parse(res.body.conversation);
      expect(conversation).toMatchObject({ kind: "group", title: "Team", createdBy: "h-ann", lastSeq: 0 });
      expect(conversation.members!.map((m) => [m.userId, m.role]).sort()).toEqual([
        ["h-ann", "owner"],
        ["h-ben", "member"],
        ["h-cat", "member"],
      ]);
      expect(conversation.members!.find((m) => m.userId === "h-ann")!.displayName).toBe("Ann");
    }
    const space = await cluster.http(1, "POST", "/v1/conversations", { token: ann, body: { kind: "space", memberIds: [] } });
    expect(space.status).toBe(201);
    expect(space.body.conversation.members.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([["h-ann", "owner"]]);
  });

  it("returns the existing direct conversation between the same two users (200, same id), from either side", async () => {
    const [dan, eve] = await Promise.all([cluster.token("h-dan"), cluster.token("h-eve")]);
    const first = await cluster.http(0, "POST", "/v1/conversations", { token: dan, body: { kind: "direct", memberIds: ["h-eve"] } });
    expect(first.status).toBe(201);
    const again = await cluster.http(1, "POST", "/v1/conversations", { token: dan, body: { kind: "direct", memberIds: ["h-eve", "h-dan"] } });
    const reverse = await cluster.http(0, "POST", "/v1/conversations", { token: eve, body: { kind: "direct", memberIds: ["h-dan"] } });
    for (const res of [again, reverse]) {
      expect(res.status).toBe(200);
      expect(res.body.conversation.id).toBe(first.body.conversation.id);
    }
    // Racing creations still make one.
    const [fay, gus] = await Promise.all([cluster.token("h-fay"), cluster.token("h-gus")]);
    const raced = await Promise.all([
      cluster.http(0, "POST", "/v1/conversations", { token: fay, body: { kind: "direct", memberIds: ["h-gus"] } }),
      cluster.http(1, "POST", "/v1/conversations", { token: gus, body: { kind: "direct", memberIds: ["h-fay"] } }),
    ]);
    expect(raced.map((r) => r.status).sort()).toEqual([200, 201]);
    expect(raced[0]!.body.conversation.id).toBe(raced[1]!.body.conversation.id);
  });

  it("refuses a direct conversation without exactly one other member (400)", async () => {
    const dan = await cluster.token("h-dan");
    for (const memberIds of [[], ["h-dan"], ["h-eve", "h-fay"]]) {
      const res = await cluster.http(0, "POST", "/v1/conversations", { token: dan, body: { kind: "direct", memberIds } });
      expect(res).toMatchObject({ status: 400, body: { error: { code: "VALIDATION" } } });
    }
  });
});

describe("PATCH and GET /v1/conversations/:id", () => {
  it("lets the owner rename, refuses a plain member (403), and shows members with roles", async () => {
    const [owner, member] = await Promise.all([cluster.token("p-owner", "Owner"), cluster.token("p-member", "Member")]);
    const conversation = await cluster.createConversation(owner, ["p-member"], "group", "Old");
    const renamed = await cluster.http(1, "PATCH", `/v1/conversations/${conversation.id}`, { token: owner, body: { title: "New" } });
    expect(renamed.status).toBe(200);
    expect(ConversationSchema.parse(renamed.body.conversation).title).toBe("New");
    const refused = await cluster.http(0, "PATCH", `/v1/conversations/${conversation.id}`, { token: member, body: { title: "Mine" } });
    expect(refused).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });

    const got = await cluster.http(0, "GET", `/v1/conversations/${conversation.id}`, { token: member });
    expect(got.status).toBe(200);
    const c = ConversationSchema.parse(got.body.conversation);
    expect(c).toMatchObject({ id: conversation.id, title: "New", kind: "group", createdBy: "p-owner" });
    expect(c.members!.map((m) => ({ userId: m.userId, role: m.role, displayName: m.displayName })).sort((a, b) => a.userId.localeCompare(b.userId))).toEqual([
      { userId: "p-member", role: "member", displayName: "Member" },
      { userId: "p-owner", role: "owner", displayName: "Owner" },
    ]);
  });
});

describe("GET /v1/conversations", () => {
  it("lists with lastSeq, lastReadSeq, unreadCount and lastMessage, newest activity first, paged by cursor", async () => {
    const [lia, max] = await Promise.all([cluster.token("l-lia", "Lia"), cluster.token("l-max", "Max")]);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await cluster.createConversation(lia, ["l-max"], "group", `c${i}`)).id);
    // Some created at the same moment, so the cursor must separate rows of one instant.
    const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => cluster.createConversation(lia, ["l-max"], "group", `b${i}`)));
    ids.push(...burst.map((c) => c.id));

    await send(max, ids[1]!, "from max 1");
    const last = await send(max, ids[1]!, "from max 2");
    await send(lia, ids[1]!, "from lia");
    const liaLast = await send(lia, ids[3]!, "lia only");

    const all = await cluster.http(0, "GET", "/v1/conversations?limit=200", { token: lia });
    expect(all.status).toBe(200);
    expect(all.body.nextCursor).toBeNull();
    const rows = all.body.conversations.map((r: unknown) => ConversationSummarySchema.parse(r));
    expect(rows).toHaveLength(11);
    // Most recently active first: the two with messages lead.
    expect(rows.slice(0, 2).map((r: { id: string }) => r.id)).toEqual([ids[3], ids[1]]);
    const c1 = rows.find((r: { id: string }) => r.id === ids[1]);
    expect(c1).toMatchObject({ lastSeq: 3, lastReadSeq: 0, unreadCount: 2, lastMessage: { seq: 3, body: "from lia", senderId: "l-lia" } });
    expect(rows.find((r: { id: string }) => r.id === ids[3])).toMatchObject({ lastSeq: 1, unreadCount: 0, lastMessage: liaLast });
    expect(rows.find((r: { id: string }) => r.id === ids[0])).toMatchObject({ lastSeq: 0, unreadCount: 0, lastMessage: null });

    const maxView = await cluster.http(1, "GET", "/v1/conversations", { token: max });
    const m1 = maxView.body.conversations.find((r: { id: string }) => r.id === ids[1]);
    expect(m1).toMatchObject({ lastSeq: 3, unreadCount: 1, lastMessage: { seq: 3 } });
    expect(last.seq).toBe(2);

    // Paging with limit 2 visits every conversation once, in the same order.
    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `?limit=2&cursor=${encodeURIComponent(cursor)}` : "?limit=2";
      const page = await cluster.http(pages % 2, "GET", `/v1/conversations${q}`, { token: lia });
      expect(page.status).toBe(200);
      expect(page.body.conversations.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.conversations.map((r: { id: string }) => r.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(paged).toEqual(rows.map((r: { id: string }) => r.id));
    expect(pages).toBe(6);

    for (const garbage of ["garbage", "eyJub3QiOiJhIGN1cnNvciJ9", "%00"]) {
      const res = await cluster.http(0, "GET", `/v1/conversations?cursor=${garbage}`, { token: lia });
      expect(res).toMatchObject({ status: 400, body: { error: { code: "VALIDATION" } } });
    }
  });
});

describe("members", () => {
  it("an added member's live socket on the other gateway hears the conversation at once, without reconnecting", async () => {
    const [owner, newcomer] = await Promise.all([cluster.token("m-owner"), cluster.token("m-new", "Newcomer")]);
    const conversation = await cluster.createConversation(owner, ["m-first"]);
    const newcomerSocket = await cluster.connect(1, newcomer);
    const before = listen<Message>(newcomerSocket, "message:new", 400);
    await send(owner, conversation.id, "before you came", 0);
    expect(await before).toEqual([]);

    const added = await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/members`, { token: owner, body: { userIds: ["m-new", "m-first"] } });
    expect(added.status).toBe(200);
    expect(added.body.conversation.members.map((m: { userId: string }) => m.userId).sort()).toEqual(["m-first", "m-new", "m-owner"]);

    const heard = collect(newcomerSocket, "message:new", 1);
    const sent = await send(owner, conversation.id, "welcome", 0);
    expect((await heard)[0]).toEqual(sent);
    // And the newcomer may send and read history now.
    const own = await newcomerSocket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: "hi all" });
    expect(own).toMatchObject({ ok: true, message: { senderName: "Newcomer", seq: 3 } });
  });

  it("a removed member's live socket stops hearing and their sends are FORBIDDEN; members may leave; a plain member cannot remove others", async () => {
    const [owner, kim, leo, mia] = await Promise.all(["d-owner", "d-kim", "d-leo", "d-mia"].map((u) => cluster.token(u)));
    const conversation = await cluster.createConversation(owner!, ["d-kim", "d-leo", "d-mia"]);
    const [kimSocket, leoSocket] = await Promise.all([cluster.connect(1, kim!), cluster.connect(0, leo!)]);
    const heard = collect(kimSocket, "message:new", 1);
    await send(owner!, conversation.id, "all here");
    await heard;

    // A plain member cannot remove another member, nor the owner.
    for (const target of ["d-kim", "d-owner"]) {
      const res = await cluster.http(0, "DELETE", `/v1/conversations/${conversation.id}/members/${target}`, { token: leo });
      expect(res).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
    }

    const removed = await cluster.http(0, "DELETE", `/v1/conversations/${conversation.id}/members/d-kim`, { token: owner });
    expect(removed.status).toBe(204);
    expect(removed.body).toBeUndefined();
    const silence = listen<Message>(kimSocket, "message:new", 500);
    const leoHears = collect(leoSocket, "message:new", 1);
    await send(owner!, conversation.id, "kim is gone", 1);
    await leoHears;
    expect(await silence).toEqual([]);
    const kimSend = await kimSocket.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: "still here?" });
    expect(kimSend).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    const kimHttp = await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/messages`, { token: kim, body: { clientMessageId: randomUUID(), body: "?" } });
    expect(kimHttp.status).toBe(403);
    expect(await kimSocket.emitWithAck("messages:history", { conversationId: conversation.id })).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });

    // Only the owner or an admin adds members, and a direct conversation never grows.
    const byMember = await cluster.http(1, "POST", `/v1/conversations/${conversation.id}/members`, { token: leo, body: { userIds: ["d-zed"] } });
    expect(byMember).toMatchObject({ status: 403, body: { error: { code: "FORBIDDEN" } } });
    const direct = await cluster.createConversation(owner!, ["d-leo"], "direct");
    const third = await cluster.http(0, "POST", `/v1/conversations/${direct.id}/members`, { token: owner, body: { userIds: ["d-zed"] } });
    expect(third).toMatchObject({ status: 400, body: { error: { code: "VALIDATION" } } });

    // Leaving: a member removes themself.
    const left = await cluster.http(1, "DELETE", `/v1/conversations/${conversation.id}/members/d-mia`, { token: mia });
    expect(left.status).toBe(204);
    const view = await cluster.http(0, "GET", `/v1/conversations/${conversation.id}`, { token: owner });
    expect(view.body.conversation.members.map((m: { userId: string }) => m.userId).sort()).toEqual(["d-leo", "d-owner"]);
    expect((await cluster.http(0, "GET", `/v1/conversations/${conversation.id}`, { token: mia })).status).toBe(403);
  });
});

describe("messages", () => {
  it("POST answers 201 on the idempotent path; GET pages with beforeSeq, afterSeq and limit", async () => {
    const [nia, oz] = await Promise.all([cluster.token("g-nia", "Nia"), cluster.token("g-oz")]);
    const conversation = await cluster.createConversation(nia, ["g-oz"]);
    const clientMessageId = randomUUID();
    const path = `/v1/conversations/${conversation.id}/messages`;
    const first = await cluster.http(0, "POST", path, { token: nia, body: { clientMessageId, body: "m1" } });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ message: expect.any(Object), duplicate: false });
    expect(MessageSchema.parse(first.body.message)).toMatchObject({ seq: 1, senderId: "g-nia", senderName: "Nia", clientMessageId, kind: "text", body: "m1" });
    const retry = await cluster.http(1, "POST", path, { token: nia, body: { clientMessageId, body: "m1", conversationId: conversation.id } });
    expect(retry).toMatchObject({ status: 201, body: { message: first.body.message, duplicate: true } });

    for (let i = 2; i <= 9; i++) await send(i % 2 ? nia : oz, conversation.id, `m${i}`, i % 2);
    const seqs = (res: { body: { messages: Message[] } }) => res.body.messages.map((m) => m.seq);

    const newest = await cluster.http(1, "GET", `${path}?limit=3`, { token: oz });
    expect(newest.status).toBe(200);
    expect(seqs(newest)).toEqual([7, 8, 9]);
    expect(newest.body.hasMore).toBe(true);
    const before = await cluster.http(0, "GET", `${path}?beforeSeq=7&limit=4`, { token: oz });
    expect({ seqs: seqs(before), hasMore: before.body.hasMore }).toEqual({ seqs: [3, 4, 5, 6], hasMore: true });
    const start = await cluster.http(0, "GET", `${path}?beforeSeq=3`, { token: oz });
    expect({ seqs: seqs(start), hasMore: start.body.hasMore }).toEqual({ seqs: [1, 2], hasMore: false });
    const after = await cluster.http(1, "GET", `${path}?afterSeq=2&limit=3`, { token: oz });
    expect({ seqs: seqs(after), hasMore: after.body.hasMore }).toEqual({ seqs: [3, 4, 5], hasMore: true });
    const between = await cluster.http(1, "GET", `${path}?afterSeq=2&beforeSeq=6`, { token: oz });
    expect({ seqs: seqs(between), hasMore: between.body.hasMore }).toEqual({ seqs: [3, 4, 5], hasMore: false });
    const all = await cluster.http(0, "GET", path, { token: nia });
    expect({ seqs: seqs(all), hasMore: all.body.hasMore }).toEqual({ seqs: [1, 2, 3, 4, 5, 6, 7, 8, 9], hasMore: false });
    for (const m of all.body.messages) MessageSchema.parse(m);
  });
});

describe("POST /v1/conversations/:id/read", () => {
  it("moves the read watermark up only; the reader's own messages are never unread", async () => {
    const [pia, quin] = await Promise.all([cluster.token("r-pia"), cluster.token("r-quin")]);
    const conversation = await cluster.createConversation(pia, ["r-quin"]);
    for (let i = 1; i <= 4; i++) await send(quin, conversation.id, `q${i}`);
    await send(pia, conversation.id, "p5");
    await send(quin, conversation.id, "q6");
    const path = `/v1/conversations/${conversation.id}/read`;

    const read = (seq: number, token = pia) => cluster.http(seq % 2, "POST", path, { token, body: { seq } });
    expect(await read(2)).toMatchObject({ status: 200, body: { lastReadSeq: 2, unreadCount: 3 } });
    expect((await read(1)).body).toEqual({ lastReadSeq: 2, unreadCount: 3 });
    expect((await read(4)).body).toEqual({ lastReadSeq: 4, unreadCount: 1 });
    // A seq past the end is clamped to the last message.
    expect((await read(99)).body).toEqual({ lastReadSeq: 6, unreadCount: 0 });
    expect((await read(0)).body).toEqual({ lastReadSeq: 6, unreadCount: 0 });

    // quin has read nothing, but their own four messages do not count.
    expect((await read(0, quin)).body).toEqual({ lastReadSeq: 0, unreadCount: 1 });
    const list = await cluster.http(0, "GET", "/v1/conversations", { token: quin });
    expect(list.body.conversations.find((c: { id: string }) => c.id === conversation.id)).toMatchObject({ lastReadSeq: 0, unreadCount: 1 });
  });
});

describe("operations routes", () => {
  it("serves /healthz, /readyz and /metrics without a token, and 404 NOT_FOUND for unknown routes", async () => {
    for (const i of [0, 1]) {
      expect((await cluster.http(i, "GET", "/healthz")).status).toBe(200);
      expect((await cluster.http(i, "GET", "/readyz")).status).toBe(200);
      const metrics = await fetch(`${cluster.url(i)}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toMatch(/^text\/plain/);
      expect(await metrics.text()).toContain("parley_gateway_");
    }
    const token = await cluster.token("ops");
    for (const [method, path] of [
      ["GET", "/nope"],
      ["GET", "/v1/nope"],
      ["DELETE", "/v1/conversations"],
      ["PUT", `/v1/conversations/${randomUUID()}`],
    ] as const) {
      const res = await cluster.http(0, method, path, { token });
      expect(res).toEqual({ status: 404, body: { error: { code: "NOT_FOUND", message: expect.any(String) } }, headers: expect.anything() });
    }
  });
});
