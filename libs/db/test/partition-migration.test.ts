// Migration 0013 (messages hash-partitioned by conversation) on a database already in use: the
// schema of 0012 with messages, edits, deletions, reactions and searchable rows in place, then
// 0013. Everything stored before is there after, unchanged (ids, seqs, bodies, digests,
// timestamps, reactions), search answers the same, and the code of today works on the old rows
// (retries, edits and reactions by id, replies). Then the operator's re-partitioning
// (parley_partition_messages) to another count, and a hard delete's clean-up.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@parley/testkit/vitest";
import type { TestDatabase } from "@parley/testkit";
import {
  addReaction,
  createDatabase,
  deleteMessage,
  editMessage,
  persistBatch,
  readHistory,
  runMigrations,
  searchMessages,
  type Database,
  type PersistItem,
} from "@parley/db";

let testDb: TestDatabase;
let database: Database;
const conversations: string[] = [];
const items: PersistItem[] = [];

interface Snapshot {
  messages: unknown[];
  reactions: unknown[];
  searches: unknown[];
}
const QUERIES = ["alpha", "bravo charlie", '"delta echo"', "alpha -bravo", "edited", "foxtrot -golf hotel"];

/** Everything 0012's schema stores about messages, and what search answers, as plain rows. */
async function snapshot(): Promise<Snapshot> {
  const messages = await database.sql`
    select id, conversation_id, seq, sender_id, client_message_id, kind, body, reply_to_id, attachments,
      created_at, edited_at, deleted_at, encode(body_digest, 'hex') as digest
    from messages order by conversation_id, seq`;
  const reactions = await database.sql`select message_id, user_id, emoji, created_at from reactions order by message_id, user_id, emoji`;
  const searches = [];
  for (const q of QUERIES) {
    searches.push(await database.sql`select * from parley_search('alice', ${q}, null::uuid, 50, 20000) order by rank desc, conversation_id, seq`);
  }
  return { messages: [...messages], reactions: [...reactions], searches: searches.map((rows) => [...rows]) };
}

const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];
const partitionsOf = async (table: string) =>
  (await database.sql<{ n: number }[]>`select count(*)::int as n from pg_inherits where inhparent = ${table}::regclass`)[0]!.n;

let before: Snapshot;
beforeAll(async () => {
  testDb = await createTestDatabase({ migrate: false });
  database = createDatabase({ url: testDb.url, max: 2 });
  await runMigrations(testDb.url, { through: 12 });
  // 0012's world: 12 conversations of alice and bob, 30 messages each through 0012's commit
  // function, some replies, attachments, edits, deletions and reactions, searchable words.
  await database.sql`insert into users (id, display_name) values ('alice', 'Alice'), ('bob', 'Bob')`;
  for (let c = 0; c < 12; c++) {
    const id = randomUUID();
    conversations.push(id);
    await database.sql`insert into conversations (id, kind, created_by) values (${id}, 'group', 'alice')`;
    await database.sql`insert into members (conversation_id, user_id, role) values (${id}, 'alice', 'owner'), (${id}, 'bob', 'member')`;
  }
  for (let i = 0; i < 360; i++) {
    const conversationId = conversations[i % 12]!;
    items.push({
      id: randomUUID(),
      conversationId,
      senderId: i % 3 === 0 ? "bob" : "alice",
      senderName: i % 3 === 0 ? "Bob" : "Alice",
      clientMessageId: randomUUID(),
      kind: "text",
      body: `${words[i % 8]} ${words[(i * 3) % 8]} ${words[(i * 5) % 8]} number ${i}`,
      ...(i % 10 === 0 ? { attachments: [{ url: `https://files.example/${i}.png`, mime: "image/png", size: 100 + i }] } : {}),
    });
  }
  for (let from = 0; from < items.length; from += 60) {
    const out = await database.sql`select status from parley_persist_batch(${JSON.stringify(items.slice(from, from + 60))}::jsonb)`;
    expect(out.every((r) => r.status === "new")).toBe(true);
  }
  // A reply in each conversation to its first message, through the commit function.
  const firsts = items.slice(0, 12);
  const replies = firsts.map((m) => ({ ...m, id: randomUUID(), clientMessageId: randomUUID(), senderId: "bob", senderName: "Bob", body: "reply hotel", replyToId: m.id, attachments: undefined }));
  await database.sql`select status from parley_persist_batch(${JSON.stringify(replies)}::jsonb)`;
  items.push(...replies);
  // Edits, deletions and reactions as 0012's code made them.
  for (const m of items.filter((_, i) => i % 7 === 1)) {
    await database.sql`update messages set body = ${"edited " + m.body!}, edited_at = now() where id = ${m.id}`;
  }
  for (const m of items.filter((_, i) => i % 11 === 2)) {
    await database.sql`update messages set body = null, attachments = null, deleted_at = now() where id = ${m.id}`;
  }
  for (const [n, m] of items.filter((_, i) => i % 5 === 3).entries()) {
    await database.sql`insert into reactions (message_id, user_id, emoji) values (${m.id}, 'alice', '👍'), (${m.id}, 'bob', ${n % 2 ? "🎉" : "👍"})`;
  }
  await database.sql`analyze`;
  before = await snapshot();
  expect(before.messages).toHaveLength(372);
  expect(before.searches.some((rows) => (rows as unknown[]).length > 10)).toBe(true);

  // As a release's migration Job does: drizzle applies what the database has not run yet.
  await runMigrations(testDb.url);
}, 60_000);

afterAll(async () => {
  await database?.close();
  await testDb?.drop();
});

describe("migration 0013 on a populated database", () => {
  it("partitions messages, reactions, message_keys and message_ids, 8 each", async () => {
    for (const table of ["messages", "reactions", "message_keys", "message_ids"]) expect(await partitionsOf(table), table).toBe(8);
    // Every partition of messages holds some of the 12 conversations' rows or none: nothing in a default partition.
    const [row] = await database.sql<{ n: number }[]>`select count(*)::int as n from only messages`;
    expect(row!.n).toBe(0);
  });

  it("keeps every message, reaction and search answer as it was", async () => {
    const after = await snapshot();
    expect(after.messages).toEqual(before.messages);
    expect(after.reactions).toEqual(before.reactions);
    expect(after.searches).toEqual(before.searches);
    const [keys] = await database.sql<{ keys: number; ids: number; placed: number }[]>`
      select (select count(*)::int from message_keys) as keys, (select count(*)::int from message_ids) as ids,
        (select count(*)::int from reactions r join messages m on m.conversation_id = r.conversation_id and m.id = r.message_id) as placed`;
    expect(keys).toEqual({ keys: 372, ids: 372, placed: (before.reactions as unknown[]).length });
  });

  it("answers a retry of a message stored before with the stored message, and a changed retry with CONFLICT", async () => {
    const old = items[5]!;
    const out = await persistBatch(database.sql, [old, { ...old, id: randomUUID(), body: "something else" }]);
    const stored = (before.messages as { id: string; seq: string }[]).find((m) => m.id === old.id)!;
    expect(out[0]).toMatchObject({ ok: true, duplicate: true, message: { id: old.id, seq: Number(stored.seq) } });
    expect(out[1]).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
    // The same retry again: the same answer.
    expect((await persistBatch(database.sql, [old]))[0]).toEqual(out[0]);
  });

  it("goes on numbering each conversation without a gap, and accepts a reply to an old message", async () => {
    const c = conversations[3]!;
    const last = (await database.sql<{ last: number }[]>`select last_seq::int as last from conversations where id = ${c}`)[0]!.last;
    const reply = { id: randomUUID(), conversationId: c, senderId: "alice", senderName: "Alice", clientMessageId: randomUUID(), kind: "text" as const, body: "late reply", replyToId: items[3]!.id };
    const elsewhere = { ...reply, id: randomUUID(), clientMessageId: randomUUID(), replyToId: items[4]!.id };
    const out = await persistBatch(database.sql, [reply, elsewhere]);
    expect(out[0]).toMatchObject({ ok: true, duplicate: false, message: { seq: last + 1, replyToId: items[3]!.id } });
    expect(out[1]).toMatchObject({ ok: false, error: { code: "VALIDATION" } });
    const seqs = await database.sql<{ seq: number }[]>`select seq::int from messages where conversation_id = ${c} order by seq`;
    expect(seqs.map((r) => r.seq)).toEqual(Array.from({ length: last + 1 }, (_, i) => i + 1));
  });

  it("edits, deletes and reacts to messages stored before, by their id alone", async () => {
    const target = items[8]!;
    const edited = await editMessage(database.sql, { messageId: target.id, userId: target.senderId, body: "changed after the migration" });
    expect(edited).toMatchObject({ status: "ok", changed: true, message: { id: target.id, body: "changed after the migration" } });
    expect(await addReaction(database.sql, { messageId: target.id, userId: "bob", emoji: "🔥" })).toMatchObject({ status: "ok", changed: true });
    const reacted = items.find((_, i) => i % 5 === 3 && i % 11 !== 2 && i % 7 !== 1)!;
    const page = await readHistory(database.sql, { conversationId: reacted.conversationId, limit: 100 });
    expect(page.messages.find((m) => m.id === reacted.id)?.reactions?.flatMap((r) => r.userIds).sort()).toEqual(["alice", "bob"]);
    expect(await deleteMessage(database.sql, { messageId: target.id, userId: "alice" })).toMatchObject({ status: "ok", changed: true });
    expect(await editMessage(database.sql, { messageId: randomUUID(), userId: "alice", body: "x" })).toEqual({ status: "not_found" });
    const found = await searchMessages(database.sql, { userId: "alice", q: "changed", maxRows: 20_000 });
    expect(found).toEqual([]);
  });
});

describe("parley_partition_messages: another count, on the same data", () => {
  it("re-partitions into 4 and back into 8 with every row, key and reaction in place", async () => {
    const now = await snapshot();
    await database.sql`select parley_partition_messages(4)`;
    for (const table of ["messages", "reactions", "message_keys", "message_ids"]) expect(await partitionsOf(table), table).toBe(4);
    expect(await snapshot()).toEqual(now);
    const old = items[20]!;
    expect((await persistBatch(database.sql, [old]))[0]).toMatchObject({ ok: true, duplicate: true, message: { id: old.id } });
    // The same count again changes nothing; a count out of range is refused.
    await database.sql`select parley_partition_messages(4)`;
    await expect(database.sql`select parley_partition_messages(0)`).rejects.toThrow(/from 1 to 1024/);
    await database.sql`select parley_partition_messages(8)`;
    expect(await partitionsOf("messages")).toBe(8);
    expect(await snapshot()).toEqual(now);
  });
});

describe("a hard delete of messages (retention, an operator)", () => {
  it("takes the message's key, id and reactions with it", async () => {
    const gone = items[30]!;
    await database.sql`insert into reactions (conversation_id, message_id, user_id, emoji) values (${gone.conversationId}, ${gone.id}, 'bob', '👀')`;
    await database.sql`delete from messages where conversation_id = ${gone.conversationId} and id = ${gone.id}`;
    const [left] = await database.sql<{ keys: number; ids: number; reactions: number }[]>`
      select (select count(*)::int from message_keys where sender_id = ${gone.senderId} and client_message_id = ${gone.clientMessageId}) as keys,
        (select count(*)::int from message_ids where id = ${gone.id}) as ids,
        (select count(*)::int from reactions where message_id = ${gone.id}) as reactions`;
    expect(left).toEqual({ keys: 0, ids: 0, reactions: 0 });
  });
});
