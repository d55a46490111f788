// Edits, deletions, reactions, replies and attachments across two gateways (issue 3, point 5).
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ErrorCode, Message, SendMessage } from "@parley/protocol";
import { collect, startCluster, type ClientSocket, type Cluster } from "./cluster.js";

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
});
afterAll(async () => {
  await cluster?.stop();
});

/** The contract's refusal ack, exactly. */
function expectRefusal(ack: unknown, code: ErrorCode) {
  expect(ack).toEqual({ ok: false, error: { code, message: expect.any(String) } });
}

/** Emits an event with a payload the typed client would not let us write. */
function emitRaw(socket: ClientSocket, event: string, payload: unknown): Promise<unknown> {
  return new Promise((resolve) => (socket.emit as (...a: unknown[]) => void)(event, payload, resolve));
}

async function send(socket: ClientSocket, conversationId: string, body: string, extra: Partial<SendMessage> = {}): Promise<Message> {
  const ack = await socket.emitWithAck("message:send", { conversationId, clientMessageId: randomUUID(), body, ...extra });
  if (!ack.ok) throw new Error(`send failed: ${JSON.stringify(ack)}`);
  return ack.message;
}

/**
 * Events of one room reach a pod in the order they were published, so "a no-op emitted
 * nothing" is proven by the next event being the marker published after it.
 */
async function nextEvents(socket: ClientSocket, count: number, act: () => Promise<unknown>) {
  const seen: { event: string; payload: unknown }[] = [];
  const on = (event: string, payload: unknown) => {
    if (event === "message:updated" || event === "reaction") seen.push({ event, payload });
  };
  socket.onAny(on);
  try {
    await act();
    const deadline = Date.now() + 5_000;
    while (seen.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    return seen;
  } finally {
    socket.offAny(on);
  }
}

/** A group owned by `owner`-prefixed users: owner (admin role given to `admin`), author, reader. */
async function setup(tag: string) {
  const ids = { owner: `${tag}-owner`, admin: `${tag}-admin`, author: `${tag}-author`, reader: `${tag}-reader` };
  const [owner, admin, author, reader] = await Promise.all([
    cluster.token(ids.owner, "Owner"),
    cluster.token(ids.admin, "Admin"),
    cluster.token(ids.author, "Author"),
    cluster.token(ids.reader, "Reader"),
  ]);
  const conversation = await cluster.createConversation(owner, [ids.admin, ids.author, ids.reader]);
  await cluster.database.sql`update members set role = 'admin' where conversation_id = ${conversation.id} and user_id = ${ids.admin}`;
  const [ownerSocket, adminSocket, authorSocket, authorSecond, readerSocket] = await Promise.all([
    cluster.connect(0, owner),
    cluster.connect(1, admin),
    cluster.connect(0, author),
    cluster.connect(1, author),
    cluster.connect(1, reader),
  ]);
  return { ids, tokens: { owner, admin, author, reader }, conversationId: conversation.id, ownerSocket, adminSocket, authorSocket, authorSecond, readerSocket };
}

describe("message:edit", () => {
  it("lets the sender edit, answers the edited message and fans it out on every pod; sync and history return the new body", async () => {
    const t = await setup("edit");
    const original = await send(t.authorSocket, t.conversationId, "helo wrld");
    const updates = Promise.all([t.authorSecond, t.readerSocket, t.ownerSocket].map((s) => collect(s, "message:updated", 1)));
    const ack = await t.authorSocket.emitWithAck("message:edit", { messageId: original.id, body: "hello world" });
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    expect(ack.message).toEqual({ ...original, body: "hello world", editedAt: expect.any(String) });
    expect(Date.parse(ack.message.editedAt!)).toBeGreaterThanOrEqual(Date.parse(original.createdAt));
    for (const [update] of await updates) expect(update).toEqual(ack.message);

    const history = await t.readerSocket.emitWithAck("messages:history", { conversationId: t.conversationId });
    expect(history).toEqual({ ok: true, messages: [ack.message], hasMore: false });
    const sync = await t.readerSocket.emitWithAck("sync", { cursors: { [t.conversationId]: 0 } });
    if (!sync.ok) throw new Error(JSON.stringify(sync));
    expect(sync.conversations.find((c) => c.id === t.conversationId)!.messages).toEqual([ack.message]);
    const http = await cluster.http(1, "GET", `/v1/conversations/${t.conversationId}/messages`, { token: t.tokens.reader });
    expect(http.body.messages).toEqual([ack.message]);
  });

  it("answers a repeated edit with the stored message and announces nothing", async () => {
    const t = await setup("edit-repeat");
    const original = await send(t.authorSocket, t.conversationId, "first");
    const firstUpdate = collect(t.readerSocket, "message:updated", 1);
    const first = await t.authorSocket.emitWithAck("message:edit", { messageId: original.id, body: "second" });
    if (!first.ok) throw new Error(JSON.stringify(first));
    await firstUpdate;
    const seen = await nextEvents(t.readerSocket, 1, async () => {
      expect(await t.authorSocket.emitWithAck("message:edit", { messageId: original.id, body: "second" })).toEqual(first);
      expect(await t.ownerSocket.emitWithAck("reaction:add", { messageId: original.id, emoji: "👀" })).toEqual({ ok: true });
    });
    expect(seen.map((s) => s.event)).toEqual(["reaction"]);
  });

  it("refuses other members (FORBIDDEN), unknown ids and outsiders (NOT_FOUND), bad bodies (VALIDATION) and tombstones (CONFLICT)", async () => {
    const t = await setup("edit-refusals");
    const outsider = await cluster.connect(0, await cluster.token("edit-outsider", "Outsider"));
    const message = await send(t.authorSocket, t.conversationId, "mine");
    expectRefusal(await t.ownerSocket.emitWithAck("message:edit", { messageId: message.id, body: "the owner's words" }), "FORBIDDEN");
    expectRefusal(await t.adminSocket.emitWithAck("message:edit", { messageId: message.id, body: "the admin's words" }), "FORBIDDEN");
    expectRefusal(await t.readerSocket.emitWithAck("message:edit", { messageId: message.id, body: "x" }), "FORBIDDEN");
    expectRefusal(await t.authorSocket.emitWithAck("message:edit", { messageId: randomUUID(), body: "x" }), "NOT_FOUND");
    expectRefusal(await outsider.emitWithAck("message:edit", { messageId: message.id, body: "x" }), "NOT_FOUND");
    for (const body of ["", "   ", "x".repeat(4_001), "cut \uD83D", "nul\u0000"]) {
      expectRefusal(await emitRaw(t.authorSocket, "message:edit", { messageId: message.id, body }), "VALIDATION");
    }
    expectRefusal(await emitRaw(t.authorSocket, "message:edit", { messageId: "nope", body: "x" }), "VALIDATION");
    expect(await t.authorSocket.emitWithAck("message:delete", { messageId: message.id })).toMatchObject({ ok: true });
    expectRefusal(await t.authorSocket.emitWithAck("message:edit", { messageId: message.id, body: "back from the dead" }), "CONFLICT");
    const [row] = await cluster.database.sql`select body, edited_at from messages where id = ${message.id}`;
    expect(row).toEqual({ body: null, edited_at: null });
  });
});

describe("a send retried after its message changed", () => {
  const row = async (id: string) => {
    const [r] = await cluster.database.sql`select seq, body, attachments, edited_at, deleted_at, body_digest from messages where id = ${id}`;
    return r!;
  };
  const state = async (conversationId: string) => {
    const [r] = await cluster.database.sql`
      select (select count(*)::int from messages where conversation_id = ${conversationId}) as n, last_seq
      from conversations where id = ${conversationId}`;
    return r!;
  };

  it("with the body it was sent with: duplicate: true with the message as it is now (edited or deleted); with any other body: CONFLICT; neither changes anything", async () => {
    const t = await setup("retry");
    for (const change of ["edit", "delete"] as const) {
      const payload = { conversationId: t.conversationId, clientMessageId: randomUUID(), body: `sent once (${change})` };
      const first = await t.authorSocket.emitWithAck("message:send", payload);
      if (!first.ok) throw new Error(JSON.stringify(first));
      const digest = (await row(first.message.id)).body_digest as Buffer;
      expect(digest).toHaveLength(16);
      // The other device saw it and changed it before this one heard its ack (say the ack was lost).
      const changed =
        change === "edit"
          ? await t.authorSecond.emitWithAck("message:edit", { messageId: first.message.id, body: "changed" })
          : await t.authorSecond.emitWithAck("message:delete", { messageId: first.message.id });
      if (!changed.ok) throw new Error(JSON.stringify(changed));
      const before = { row: await row(first.message.id), state: await state(t.conversationId) };
      // The digest of what was sent outlives the edit or the deletion (which removed the body).
      expect(before.row.body_digest).toEqual(digest);

      expect(await t.authorSocket.emitWithAck("message:send", payload)).toEqual({ ok: true, message: changed.message, duplicate: true });
      // Another body for the same key (the edited one included): the contract's CONFLICT.
      for (const body of ["something else", "changed", `${payload.body} `]) {
        expectRefusal(await t.authorSocket.emitWithAck("message:send", { ...payload, body }), "CONFLICT");
      }
      expect({ row: await row(first.message.id), state: await state(t.conversationId) }).toEqual(before);
      // Over the other gateway, and again: still the duplicate.
      expect(await t.authorSecond.emitWithAck("message:send", payload)).toEqual({ ok: true, message: changed.message, duplicate: true });
    }
    expect((await state(t.conversationId)).n).toBe(2);
  });

  it("keeps 0004's answer for a message stored before the digest existed: any body of an edited one is a duplicate", async () => {
    const t = await setup("retry-legacy");
    const payload = { conversationId: t.conversationId, clientMessageId: randomUUID(), body: "stored before 0006" };
    const first = await t.authorSocket.emitWithAck("message:send", payload);
    if (!first.ok) throw new Error(JSON.stringify(first));
    await cluster.database.sql`update messages set body_digest = null where id = ${first.message.id}`;
    // Unedited: compared with the stored body, as always.
    expectRefusal(await t.authorSocket.emitWithAck("message:send", { ...payload, body: "other" }), "CONFLICT");
    const edited = await t.authorSecond.emitWithAck("message:edit", { messageId: first.message.id, body: "edited" });
    if (!edited.ok) throw new Error(JSON.stringify(edited));
    for (const body of [payload.body, "other"]) {
      expect(await t.authorSocket.emitWithAck("message:send", { ...payload, body })).toEqual({ ok: true, message: edited.message, duplicate: true });
    }
    expect((await state(t.conversationId)).n).toBe(1);
  });
});

describe("a change that outlives its request bound", () => {
  it("is cancelled with its caller (answered UNAVAILABLE), and its retry lands and is announced once", async () => {
    const t = await setup("late");
    const message = await send(t.authorSocket, t.conversationId, "before the stall");
    // Another transaction holds the message's row, so the edit waits past the request bound.
    const holder = await cluster.database.sql.reserve();
    try {
      await holder`begin`;
      await holder`select 1 from messages where id = ${message.id} for update`;
      expectRefusal(await t.authorSocket.emitWithAck("message:edit", { messageId: message.id, body: "after the stall" }), "UNAVAILABLE");
      // The gateway cancels the query when it gives up: nothing waits on the lock any more.
      await expect
        .poll(async () => (await holder`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()`)[0]!.n, { timeout: 10_000 })
        .toBe(0);
      await holder`commit`;
      const [row] = await cluster.database.sql`select body from messages where id = ${message.id}`;
      expect(row).toEqual({ body: "before the stall" });
      const seen = await nextEvents(t.readerSocket, 2, async () => {
        const retried = await t.authorSocket.emitWithAck("message:edit", { messageId: message.id, body: "after the stall" });
        expect(retried).toMatchObject({ ok: true, message: { id: message.id, body: "after the stall", editedAt: expect.any(String) } });
        expect(await t.authorSocket.emitWithAck("message:edit", { messageId: message.id, body: "after the stall" })).toEqual(retried);
        expect(await t.ownerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "⏰" })).toEqual({ ok: true });
      });
      expect(seen.map((e) => e.event)).toEqual(["message:updated", "reaction"]);
    } finally {
      holder.release();
    }
  });
});

describe("message:delete", () => {
  it("turns the message into a tombstone in the database and on every device, and in sync and history", async () => {
    const t = await setup("delete");
    const attachments = [{ url: "https://files.example/a.png", mime: "image/png", size: 1234, name: "a.png" }];
    const message = await send(t.authorSocket, t.conversationId, "regrettable", { kind: "image", attachments });
    expect(message.attachments).toEqual(attachments);
    expect(await t.readerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "😬" })).toEqual({ ok: true });

    const updates = Promise.all([t.authorSecond, t.readerSocket, t.adminSocket].map((s) => collect(s, "message:updated", 1)));
    const ack = await t.authorSocket.emitWithAck("message:delete", { messageId: message.id });
    if (!ack.ok) throw new Error(JSON.stringify(ack));
    const { attachments: _gone, ...rest } = message;
    expect(ack.message).toEqual({ ...rest, body: null, deletedAt: expect.any(String) });
    for (const [update] of await updates) expect(update).toEqual(ack.message);

    // Gone from the row, not hidden: body, attachments and reactions.
    const [row] = await cluster.database.sql`select body, attachments, deleted_at is not null as deleted from messages where id = ${message.id}`;
    expect(row).toEqual({ body: null, attachments: null, deleted: true });
    expect(await cluster.database.sql`select 1 from reactions where message_id = ${message.id}`).toHaveLength(0);

    const history = await t.readerSocket.emitWithAck("messages:history", { conversationId: t.conversationId });
    expect(history).toEqual({ ok: true, messages: [ack.message], hasMore: false });
    const sync = await t.ownerSocket.emitWithAck("sync", {});
    if (!sync.ok) throw new Error(JSON.stringify(sync));
    expect(sync.conversations.find((c) => c.id === t.conversationId)!.messages).toEqual([ack.message]);

    // Deleting a tombstone again answers it and announces nothing.
    const seen = await nextEvents(t.readerSocket, 1, async () => {
      expect(await t.authorSocket.emitWithAck("message:delete", { messageId: message.id })).toEqual(ack);
      expect(await t.ownerSocket.emitWithAck("message:delete", { messageId: message.id })).toEqual(ack);
      const marker = await send(t.authorSocket, t.conversationId, "marker");
      expect(await t.authorSocket.emitWithAck("message:delete", { messageId: marker.id })).toMatchObject({ ok: true });
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ event: "message:updated", payload: { body: null, seq: 2 } });
  });

  it("lets an owner or admin delete anyone's message, and refuses plain members (FORBIDDEN) and outsiders (NOT_FOUND)", async () => {
    const t = await setup("delete-roles");
    const outsider = await cluster.connect(1, await cluster.token("delete-outsider", "Outsider"));
    const [a, b, c] = [
      await send(t.authorSocket, t.conversationId, "one"),
      await send(t.authorSocket, t.conversationId, "two"),
      await send(t.ownerSocket, t.conversationId, "three"),
    ];
    expectRefusal(await t.readerSocket.emitWithAck("message:delete", { messageId: a.id }), "FORBIDDEN");
    expectRefusal(await t.authorSocket.emitWithAck("message:delete", { messageId: c.id }), "FORBIDDEN");
    expectRefusal(await outsider.emitWithAck("message:delete", { messageId: a.id }), "NOT_FOUND");
    expectRefusal(await t.readerSocket.emitWithAck("message:delete", { messageId: randomUUID() }), "NOT_FOUND");
    expect(await t.ownerSocket.emitWithAck("message:delete", { messageId: a.id })).toMatchObject({ ok: true, message: { body: null } });
    expect(await t.adminSocket.emitWithAck("message:delete", { messageId: b.id })).toMatchObject({ ok: true, message: { body: null } });
    const rows = await cluster.database.sql`select seq, body from messages where conversation_id = ${t.conversationId} order by seq`;
    expect(rows).toEqual([{ seq: 1, body: null }, { seq: 2, body: null }, { seq: 3, body: "three" }]);
  });
});

describe("reactions", () => {
  it("adds and removes idempotently, fans out each change once on every pod, and shows them in history and sync", async () => {
    const t = await setup("react");
    const message = await send(t.authorSocket, t.conversationId, "party tonight?");
    const events = [t.authorSocket, t.authorSecond, t.readerSocket].map((s) => collect(s, "reaction", 3));
    const seen = await nextEvents(t.ownerSocket, 3, async () => {
      expect(await t.readerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "🎉" })).toEqual({ ok: true });
      expect(await t.readerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "🎉" })).toEqual({ ok: true });
      expect(await t.ownerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "🎉" })).toEqual({ ok: true });
      expect(await t.ownerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: ":party_parrot:" })).toEqual({ ok: true });
    });
    const base = { conversationId: t.conversationId, messageId: message.id };
    const expected = [
      { ...base, userId: t.ids.reader, emoji: "🎉", op: "add" },
      { ...base, userId: t.ids.owner, emoji: "🎉", op: "add" },
      { ...base, userId: t.ids.owner, emoji: ":party_parrot:", op: "add" },
    ];
    expect(seen.map((s) => s.payload)).toEqual(expected);
    for (const got of await Promise.all(events)) expect(got).toEqual(expected);

    const history = await t.authorSocket.emitWithAck("messages:history", { conversationId: t.conversationId });
    if (!history.ok) throw new Error(JSON.stringify(history));
    expect(history.messages[0]!.reactions).toEqual([
      { emoji: "🎉", userIds: [t.ids.reader, t.ids.owner] },
      { emoji: ":party_parrot:", userIds: [t.ids.owner] },
    ]);

    const removed = await nextEvents(t.authorSecond, 2, async () => {
      expect(await t.readerSocket.emitWithAck("reaction:remove", { messageId: message.id, emoji: "🎉" })).toEqual({ ok: true });
      expect(await t.readerSocket.emitWithAck("reaction:remove", { messageId: message.id, emoji: "🎉" })).toEqual({ ok: true });
      expect(await t.readerSocket.emitWithAck("reaction:remove", { messageId: message.id, emoji: "👍" })).toEqual({ ok: true });
      expect(await t.ownerSocket.emitWithAck("reaction:remove", { messageId: message.id, emoji: ":party_parrot:" })).toEqual({ ok: true });
    });
    expect(removed.map((s) => s.payload)).toEqual([
      { ...base, userId: t.ids.reader, emoji: "🎉", op: "remove" },
      { ...base, userId: t.ids.owner, emoji: ":party_parrot:", op: "remove" },
    ]);
    const sync = await t.authorSocket.emitWithAck("sync", { cursors: { [t.conversationId]: 0 } });
    if (!sync.ok) throw new Error(JSON.stringify(sync));
    expect(sync.conversations.find((c) => c.id === t.conversationId)!.messages[0]!.reactions).toEqual([{ emoji: "🎉", userIds: [t.ids.owner] }]);
  });

  it("refuses bad emoji (VALIDATION), outsiders and unknown ids (NOT_FOUND), tombstones (CONFLICT) and a 21st reaction (VALIDATION)", async () => {
    const t = await setup("react-refusals");
    const outsider = await cluster.connect(0, await cluster.token("react-outsider", "Outsider"));
    const message = await send(t.authorSocket, t.conversationId, "react to me");
    for (const emoji of ["", "lol", "👍👍", "x".repeat(33), 42, "\uD83D"]) {
      expectRefusal(await emitRaw(t.readerSocket, "reaction:add", { messageId: message.id, emoji }), "VALIDATION");
    }
    expectRefusal(await emitRaw(t.readerSocket, "reaction:add", { messageId: "nope", emoji: "👍" }), "VALIDATION");
    expectRefusal(await outsider.emitWithAck("reaction:add", { messageId: message.id, emoji: "👍" }), "NOT_FOUND");
    expectRefusal(await outsider.emitWithAck("reaction:remove", { messageId: message.id, emoji: "👍" }), "NOT_FOUND");
    expectRefusal(await t.readerSocket.emitWithAck("reaction:add", { messageId: randomUUID(), emoji: "👍" }), "NOT_FOUND");

    const twenty = ["😀", "😃", "😄", "😁", "😆", "😅", "😂", "🤣", "😊", "😇", "🙂", "🙃", "😉", "😌", "😍", "🥰", "😘", "😗", "😙", "😚"];
    for (const emoji of twenty) expect(await t.readerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji })).toEqual({ ok: true });
    expectRefusal(await t.readerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "😋" }), "VALIDATION");
    expect(await t.readerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "😀" })).toEqual({ ok: true });

    expect(await t.authorSocket.emitWithAck("message:delete", { messageId: message.id })).toMatchObject({ ok: true });
    expectRefusal(await t.readerSocket.emitWithAck("reaction:add", { messageId: message.id, emoji: "👍" }), "CONFLICT");
    expect(await t.readerSocket.emitWithAck("reaction:remove", { messageId: message.id, emoji: "😀" })).toEqual({ ok: true });
  });
});

describe("a removed member", () => {
  it("can no longer edit, delete or react (NOT_FOUND) and hears no more changes", async () => {
    const t = await setup("removed");
    const own = await send(t.readerSocket, t.conversationId, "before I leave");
    const other = await send(t.authorSocket, t.conversationId, "stay");
    expect((await cluster.http(0, "DELETE", `/v1/conversations/${t.conversationId}/members/${t.ids.reader}`, { token: t.tokens.owner })).status).toBe(204);

    expectRefusal(await t.readerSocket.emitWithAck("message:edit", { messageId: own.id, body: "edited after leaving" }), "NOT_FOUND");
    expectRefusal(await t.readerSocket.emitWithAck("message:delete", { messageId: own.id }), "NOT_FOUND");
    expectRefusal(await t.readerSocket.emitWithAck("reaction:add", { messageId: other.id, emoji: "👋" }), "NOT_FOUND");
    expectRefusal(await t.readerSocket.emitWithAck("reaction:remove", { messageId: other.id, emoji: "👋" }), "NOT_FOUND");
    const [row] = await cluster.database.sql`select body, edited_at, deleted_at from messages where id = ${own.id}`;
    expect(row).toEqual({ body: "before I leave", edited_at: null, deleted_at: null });

    // The members still hear changes; the removed member's socket does not.
    const heard = await nextEvents(t.readerSocket, 0, async () => {
      const seenByAuthor = collect(t.authorSecond, "message:updated", 1);
      expect(await t.authorSocket.emitWithAck("message:edit", { messageId: other.id, body: "stay, edited" })).toMatchObject({ ok: true });
      expect(await t.ownerSocket.emitWithAck("reaction:add", { messageId: other.id, emoji: "👍" })).toEqual({ ok: true });
      await seenByAuthor;
    });
    expect(heard).toEqual([]);
  });
});

describe("replies and attachments", () => {
  it("accepts a reply in the same conversation and refuses one to another conversation's message or an unknown id", async () => {
    const t = await setup("reply");
    const elsewhere = await cluster.createConversation(t.tokens.author, [t.ids.reader]);
    const parent = await send(t.authorSocket, t.conversationId, "question?");
    const foreign = await send(t.authorSocket, elsewhere.id, "another conversation");
    const reply = await send(t.readerSocket, t.conversationId, "answer", { replyToId: parent.id });
    expect(reply.replyToId).toBe(parent.id);
    const history = await t.ownerSocket.emitWithAck("messages:history", { conversationId: t.conversationId });
    expect(history).toMatchObject({ ok: true, messages: [{ id: parent.id }, { id: reply.id, replyToId: parent.id }] });

    for (const replyToId of [foreign.id, randomUUID()]) {
      const ack = await t.readerSocket.emitWithAck("message:send", { conversationId: t.conversationId, clientMessageId: randomUUID(), body: "bad reply", replyToId });
      expectRefusal(ack, "VALIDATION");
    }
    const http = await cluster.http(1, "POST", `/v1/conversations/${t.conversationId}/messages`, {
      token: t.tokens.reader,
      body: { clientMessageId: randomUUID(), body: "bad reply over http", replyToId: foreign.id },
    });
    expect(http).toMatchObject({ status: 400, body: { error: { code: "VALIDATION" } } });
    expectRefusal(await emitRaw(t.readerSocket, "message:send", { conversationId: t.conversationId, clientMessageId: randomUUID(), body: "x", replyToId: "nope" }), "VALIDATION");
    // Nothing half-written: the refused replies took no seq.
    const [{ last_seq }] = await cluster.database.sql<[{ last_seq: number }]>`select last_seq from conversations where id = ${t.conversationId}`;
    expect(last_seq).toBe(2);
  });

  it("stores attachment metadata and refuses bad urls, mime types, sizes and counts", async () => {
    const t = await setup("attach");
    const good = { url: "https://cdn.example.com/files/report.pdf", mime: "application/pdf", size: 52_000, name: "report.pdf" };
    const stored = await send(t.authorSocket, t.conversationId, "", { kind: "file", attachments: [good, { url: "https://cdn.example.com/x.ogg", mime: "audio/ogg", size: 0 }] });
    expect(stored.attachments).toEqual([good, { url: "https://cdn.example.com/x.ogg", mime: "audio/ogg", size: 0 }]);

    const base = { conversationId: t.conversationId, body: "", kind: "file" };
    const bad: unknown[] = [
      [{ ...good, url: "http://cdn.example.com/a.pdf" }],
      [{ ...good, url: "javascript:alert(1)" }],
      [{ ...good, url: "ftp://cdn.example.com/a.pdf" }],
      [{ ...good, url: "not a url" }],
      [{ ...good, url: `https://cdn.example.com/${"a".repeat(2_100)}` }],
      [{ ...good, mime: "pdf" }],
      [{ ...good, mime: "application/pdf; charset=x" }],
      [{ ...good, size: -1 }],
      [{ ...good, size: 1.5 }],
      [{ ...good, size: "12" }],
      [{ ...good, name: "" }],
      [{ ...good, name: "x".repeat(256) }],
      [{ url: good.url, mime: good.mime }],
      Array.from({ length: 11 }, () => good),
      "not a list",
    ];
    for (const attachments of bad) {
      expectRefusal(await emitRaw(t.authorSocket, "message:send", { ...base, clientMessageId: randomUUID(), attachments }), "VALIDATION");
    }
    // A file message needs a file.
    expectRefusal(await emitRaw(t.authorSocket, "message:send", { ...base, clientMessageId: randomUUID() }), "VALIDATION");
    const [{ n }] = await cluster.database.sql<[{ n: number }]>`select count(*)::int as n from messages where conversation_id = ${t.conversationId}`;
    expect(n).toBe(1);
  });
});

describe("the budget for changes", () => {
  it("limits a user's edits, deletions and reactions across pods (RATE_LIMITED with retryAfterMs), apart from their sends", async () => {
    const limited = await startCluster({ gateways: 2, gatewayEnv: { RATE_LIMIT_PER_SECOND: "2", RATE_LIMIT_BURST: "4" } });
    try {
      const token = await limited.token("budget-user", "Budget");
      const conversation = await limited.createConversation(token, ["budget-friend"]);
      const [s0, s1] = await Promise.all([limited.connect(0, token), limited.connect(1, token)]);
      const message = await send(s0, conversation.id, "react to this");
      const emoji = ["😀", "😃", "😄", "😁", "😆", "😅"];
      const answers = [];
      for (const [i, e] of emoji.entries()) answers.push(await (i % 2 ? s1 : s0).emitWithAck("reaction:add", { messageId: message.id, emoji: e }));
      expect(answers.slice(0, 4)).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
      expect(answers[4]).toEqual({ ok: false, error: { code: "RATE_LIMITED", message: expect.any(String), retryAfterMs: expect.any(Number) } });
      expect(await s1.emitWithAck("message:edit", { messageId: message.id, body: "edited" })).toMatchObject({ ok: false, error: { code: "RATE_LIMITED" } });
      // Sends have a budget of their own.
      expect((await s1.emitWithAck("message:send", { conversationId: conversation.id, clientMessageId: randomUUID(), body: "still sending" })).ok).toBe(true);
    } finally {
      await limited.stop();
    }
  });
});
