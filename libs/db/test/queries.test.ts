// The queries against a real PostgreSQL, each test file on a freshly migrated database of its own.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@parley/testkit/vitest";
import { holdConversationLock, type TestDatabase } from "@parley/testkit";
import {
  addMembers,
  applyDelivered,
  commitBatch,
  MembershipLimitError,
  removeMember,
  cleanSearchPendingList,
  createConversation,
  createDatabase,
  listConversations,
  markRead,
  persistBatch,
  readHistory,
  readSync,
  type Database,
  type PersistItem,
} from "@parley/db";

let testDb: TestDatabase;
let database: Database;
beforeAll(async () => {
  testDb = await createTestDatabase();
  database = createDatabase({ url: testDb.url, max: 8 });
});
afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

const newConversation = async (createdBy = "alice", memberIds = ["bob"]) =>
  (await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy, memberIds })).conversation.id;

const item = (conversationId: string, over: Partial<PersistItem> = {}): PersistItem => ({
  id: randomUUID(),
  conversationId,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: randomUUID(),
  kind: "text",
  body: "hi",
  ...over,
});

describe("persistBatch", () => {
  it("does not wait for a conversation row another transaction holds: its items are answered undefined, the others stored (0016)", async () => {
    const [held, free] = [await newConversation(), await newConversation()];
    const release = await holdConversationLock(database.sql, held);
    const first = item(held);
    const out = await commitBatch(database.sql, [first, item(free), item(held, { senderId: "bob", senderName: "Bob" })]);
    expect(out[0]).toBeUndefined();
    expect(out[1]).toMatchObject({ ok: true, message: { seq: 1 } });
    expect(out[2]).toBeUndefined();
    expect((await database.sql`select count(*)::int as n from messages where conversation_id = ${held}`)[0]!.n).toBe(0);
    // persistBatch waits for the row: stored, in order, once the holder lets go.
    const waited = persistBatch(database.sql, [first, item(held, { senderId: "bob", senderName: "Bob" })], 5);
    await new Promise((r) => setTimeout(r, 50));
    await release();
    const answers = await waited;
    expect(answers.map((o) => o.ok && o.message.seq)).toEqual([1, 2]);
  });

  it("answers duplicates inside one batch with the same message", async () => {
    const c = await newConversation();
    const one = item(c);
    const out = await persistBatch(database.sql, [one, { ...one, id: randomUUID() }, item(c)]);
    expect(out.map((o) => o.ok && o.duplicate)).toEqual([false, true, false]);
    expect(out[1]).toMatchObject({ ok: true, message: { id: one.id, seq: 1 } });
    expect(out[2]).toMatchObject({ ok: true, message: { seq: 2 } });
  });

  it("stays gap-free when the same key races in two conversations (one wins, the other is CONFLICT)", async () => {
    const [c1, c2] = [await newConversation(), await newConversation()];
    for (let round = 0; round < 20; round++) {
      const clientMessageId = randomUUID();
      const [a, b] = await Promise.all([
        persistBatch(database.sql, [item(c1, { clientMessageId }), item(c1)]),
        persistBatch(database.sql, [item(c2, { clientMessageId }), item(c2)]),
      ]);
      const codes = [a[0]!, b[0]!].map((o) => (o.ok ? "ok" : o.error.code)).sort();
      expect(codes).toEqual(["CONFLICT", "ok"]);
    }
    for (const c of [c1, c2]) {
      const rows = await database.sql<{ seq: number }[]>`select seq from messages where conversation_id = ${c} order by seq`;
      const [{ last_seq }] = await database.sql<[{ last_seq: number }]>`select last_seq from conversations where id = ${c}`;
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: last_seq }, (_, i) => i + 1));
    }
  });

  it("refuses a reply to a message of another conversation", async () => {
    const [c1, c2] = [await newConversation(), await newConversation()];
    const [first] = await persistBatch(database.sql, [item(c1)]);
    if (!first?.ok) throw new Error("setup");
    const [sameConv, otherConv] = await persistBatch(database.sql, [
      item(c1, { replyToId: first.message.id }),
      item(c2, { replyToId: first.message.id }),
    ]);
    expect(sameConv).toMatchObject({ ok: true, message: { replyToId: first.message.id } });
    expect(otherConv).toMatchObject({ ok: false, error: { code: "VALIDATION" } });
  });

  it("keeps attachments", async () => {
    const c = await newConversation();
    const attachments = [{ url: "https://cdn.example/a.png", mime: "image/png", size: 123, name: "a.png" }];
    const [out] = await persistBatch(database.sql, [item(c, { kind: "image", body: "", attachments })]);
    expect(out).toMatchObject({ ok: true, message: { attachments } });
    const page = await readHistory(database.sql, { conversationId: c });
    expect(page.messages[0]!.attachments).toEqual(attachments);
  });

  it("looks up retries by key, not by reading the whole index, even when planned on an empty table (0008)", async () => {
    // PL/pgSQL plans once per connection: this connection's first call plans on a table with
    // no statistics, as a new database's persister does. Before 0008 that plan read every entry of
    // messages_sender_client_id_uq on every commit. Since 0013 the keys are message_keys' primary
    // key, one index per partition: the entries read in all of them.
    const fresh = createDatabase({ url: testDb.url, max: 1 });
    try {
      const conversations = [await newConversation(), await newConversation(), await newConversation()];
      await persistBatch(fresh.sql, [item(conversations[0]!)]);
      for (let batch = 0; batch < 6; batch++) {
        await persistBatch(fresh.sql, Array.from({ length: 500 }, (_, i) => item(conversations[i % 3]!)));
      }
      const entriesRead = async () => {
        await fresh.sql`select pg_stat_force_next_flush()`;
        const [row] = await fresh.sql<{ read: number }[]>`
          select coalesce(sum(idx_tup_read), 0)::int as read from pg_stat_user_indexes
          where relid in (select inhrelid from pg_inherits where inhparent = 'message_keys'::regclass)`;
        return row!.read;
      };
      const before = await entriesRead();
      for (let call = 0; call < 20; call++) await persistBatch(fresh.sql, [item(conversations[call % 3]!)]);
      const read = (await entriesRead()) - before;
      // A look-up by key reads at most a few entries per call; a full scan would read 3,000+.
      expect(read).toBeLessThanOrEqual(20 * 5);
    } finally {
      await fresh.close();
    }
  });
});

describe("cleanSearchPendingList", () => {
  it("moves the search index's pending list into the index, so no commit has to", async () => {
    const c = await newConversation();
    for (let batch = 0; batch < 4; batch++) {
      await persistBatch(database.sql, Array.from({ length: 100 }, (_, i) => item(c, { body: `pending words ${batch} ${i} lorem ipsum` })));
    }
    expect(await cleanSearchPendingList(database.sql)).toBeGreaterThan(0);
    expect(await cleanSearchPendingList(database.sql)).toBe(0);
  });
});

describe("read state", () => {
  it("moves the read watermark only up and never counts own messages", async () => {
    const c = await newConversation("alice", ["bob"]);
    await persistBatch(database.sql, [item(c), item(c, { senderId: "bob", senderName: "Bob" }), item(c)]);
    expect(await markRead(database.sql, c, "bob", 2)).toEqual({ lastReadSeq: 2, unreadCount: 1, readMoved: true, deliveredMoved: true });
    expect(await markRead(database.sql, c, "bob", 1)).toEqual({ lastReadSeq: 2, unreadCount: 1, readMoved: false, deliveredMoved: false });
    expect(await markRead(database.sql, c, "bob", 99)).toMatchObject({ lastReadSeq: 3, unreadCount: 0, readMoved: true });
    expect(await markRead(database.sql, c, "mallory", 1)).toBeUndefined();
    // Alice sent seqs 1 and 3; only bob's seq 2 is unread for her.
    const [state] = (await readSync(database.sql, { userId: "alice", cursors: { [c]: 3 } })).filter((s) => s.id === c);
    expect(state).toMatchObject({ lastSeq: 3, lastReadSeq: 0, unreadCount: 1 });
  });

  it("applies delivered watermarks in one statement: only up, clamped, non-members ignored, only the moved ones returned", async () => {
    const c = await newConversation("alice", ["bob", "carol"]);
    await persistBatch(database.sql, [item(c), item(c), item(c)]);
    expect(await applyDelivered(database.sql, [{ conversationId: c, userId: "bob", seq: 2 }])).toEqual([{ conversationId: c, userId: "bob", seq: 2 }]);
    const moved = await applyDelivered(database.sql, [
      { conversationId: c, userId: "bob", seq: 1 },
      { conversationId: c, userId: "carol", seq: 50 },
      { conversationId: c, userId: "mallory", seq: 3 },
      { conversationId: randomUUID(), userId: "bob", seq: 3 },
    ]);
    expect(moved).toEqual([{ conversationId: c, userId: "carol", seq: 3 }]);
    // Reading implies delivery; a delivered watermark below the read one moves nothing.
    expect(await markRead(database.sql, c, "bob", 3)).toMatchObject({ readMoved: true, deliveredMoved: true });
    expect(await applyDelivered(database.sql, [{ conversationId: c, userId: "bob", seq: 3 }])).toEqual([]);
    const rows = await database.sql`select user_id, delivered_seq, read_seq from members where conversation_id = ${c} order by user_id`;
    expect(rows).toEqual([
      { user_id: "alice", delivered_seq: 0, read_seq: 0 },
      { user_id: "bob", delivered_seq: 3, read_seq: 3 },
      { user_id: "carol", delivered_seq: 3, read_seq: 0 },
    ]);
  });

  it("cuts sync at 2,000 messages and marks the cut conversations", async () => {
    const ids = [await newConversation("zed", []), await newConversation("zed", [])];
    for (const c of ids) {
      for (let i = 0; i < 3; i++) {
        await persistBatch(database.sql, Array.from({ length: 500 }, () => item(c, { senderId: "zed", senderName: "Zed" })));
      }
    }
    const out = await readSync(database.sql, { userId: "zed", limit: 500, cursors: { [ids[0]!]: 0, [ids[1]!]: 0 } });
    const total = out.reduce((n, c) => n + c.messages.length, 0);
    expect(total).toBe(1_000);
    expect(out.every((c) => c.hasMore)).toBe(true);
    for (const c of out) expect(c.messages.map((m) => m.seq)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
  });

  it("pages the conversation list with an opaque cursor", async () => {
    for (let i = 0; i < 5; i++) await newConversation("lister", []);
    const first = await listConversations(database.sql, "lister", { limit: 2 });
    expect(first.conversations).toHaveLength(2);
    const second = await listConversations(database.sql, "lister", { limit: 10, cursor: first.nextCursor! });
    expect(second.conversations).toHaveLength(3);
    expect(second.nextCursor).toBeNull();
    const seen = new Set([...first.conversations, ...second.conversations].map((c) => c.id));
    expect(seen.size).toBe(5);
  });
});

// Issue 12, point 5: the commit checks that the sender is a member, so a gateway's stale
// membership answer cannot let a removed member post.
describe("persistBatch and membership", () => {
  it("refuses a removed member's item with FORBIDDEN and stores nothing of it, the rest of the batch as usual", async () => {
    const c = await newConversation("alice", ["bob", "carol"]);
    const before = item(c, { senderId: "bob", senderName: "Bob" });
    expect((await persistBatch(database.sql, [before]))[0]).toMatchObject({ ok: true, message: { seq: 1 } });
    expect(await removeMember(database.sql, c, "bob")).toBe(true);
    const refused = item(c, { senderId: "bob", senderName: "Bob" });
    const out = await persistBatch(database.sql, [refused, item(c, { senderId: "carol" }), item(c, { senderId: "never-a-member" })]);
    expect(out[0]).toEqual({ ok: false, error: { code: "FORBIDDEN", message: "not a member of this conversation" } });
    expect(out[1]).toMatchObject({ ok: true, message: { seq: 2 } });
    expect(out[2]).toMatchObject({ ok: false, error: { code: "FORBIDDEN" } });
    const rows = await database.sql<{ sender_id: string }[]>`select sender_id from messages where conversation_id = ${c} order by seq`;
    expect(rows.map((r) => r.sender_id)).toEqual(["bob", "carol"]);
    // A retry of what bob sent before he left is still answered with the stored message.
    expect((await persistBatch(database.sql, [{ ...before, id: randomUUID() }]))[0]).toMatchObject({ ok: true, duplicate: true, message: { id: before.id } });
  });
});

describe("membership counts and limits", () => {
  const countOf = async (c: string) =>
    (await database.sql<{ member_count: number }[]>`select member_count from conversations where id = ${c}`)[0]!.member_count;

  it("keeps member_count exact through creations, adds (repeated ones included) and removals", async () => {
    const c = await newConversation("alice", ["bob"]);
    expect(await countOf(c)).toBe(2);
    expect(await addMembers(database.sql, c, ["carol", "dave", "bob"])).toEqual(["carol", "dave"]);
    expect(await countOf(c)).toBe(4);
    await removeMember(database.sql, c, "dave");
    expect(await countOf(c)).toBe(3);
  });

  it("refuses an add past the members cap or a user's conversations cap, adding no one", async () => {
    const limits = { maxMembers: 3, maxConversationsPerUser: 2 };
    const c = await newConversation("lim-owner", ["lim-a"]);
    await expect(addMembers(database.sql, c, ["lim-b", "lim-c"], limits)).rejects.toMatchObject({ limit: "members_per_conversation" });
    expect(await countOf(c)).toBe(2);
    expect(await addMembers(database.sql, c, ["lim-b"], limits)).toEqual(["lim-b"]);
    const d = await newConversation("lim-other", []);
    const e = await newConversation("lim-third", []);
    expect(await addMembers(database.sql, d, ["lim-a"], limits)).toEqual(["lim-a"]);
    const err = await addMembers(database.sql, e, ["lim-a"], limits).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MembershipLimitError);
    expect(err).toMatchObject({ limit: "conversations_per_user" });
    expect(await countOf(e)).toBe(1);
  });
});

// Issue 12, point 4: in a conversation above the threshold, a receipt's audience is the
// senders of the messages its watermark passed over, not the whole room.
describe("receipt audience", () => {
  const audience = { aboveMembers: 3, maxMessages: 100 };

  it("is the whole room (undefined) up to the threshold, the senders passed over (not the reader) above it", async () => {
    const small = await newConversation("ra-alice", ["ra-bob", "ra-carol"]);
    await persistBatch(database.sql, [item(small, { senderId: "ra-alice" })]);
    expect((await markRead(database.sql, small, "ra-bob", 1, audience))?.audience).toBeUndefined();
    expect((await applyDelivered(database.sql, [{ conversationId: small, userId: "ra-carol", seq: 1 }], audience))[0]?.audience).toBeUndefined();

    const big = await newConversation("ra-alice", ["ra-bob", "ra-carol", "ra-dave"]);
    await persistBatch(database.sql, [item(big, { senderId: "ra-alice" }), item(big, { senderId: "ra-dave" }), item(big, { senderId: "ra-bob" })]);
    const read = await markRead(database.sql, big, "ra-bob", 2, audience);
    expect(read).toMatchObject({ readMoved: true });
    expect(read?.audience?.sort()).toEqual(["ra-alice", "ra-dave"]);
    // From 2 to 3: only bob's own message, so no one else needs to hear it.
    expect((await markRead(database.sql, big, "ra-bob", 3, audience))?.audience).toEqual([]);
    const [moved] = await applyDelivered(database.sql, [{ conversationId: big, userId: "ra-carol", seq: 3 }], audience);
    expect(moved?.audience?.sort()).toEqual(["ra-alice", "ra-bob", "ra-dave"]);
  });
});
