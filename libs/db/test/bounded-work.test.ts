// Issue 12, "the database under abuse": the queries a user can run cheaply must read a bounded
// number of rows whatever the data and the input. Measured, not read off the plans: the rows
// Postgres read from `messages` during one call (pg_stat_user_tables, flushed by the backend
// that ran the call), against a real PostgreSQL with a database of this file's own.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@parley/testkit/vitest";
import type { TestDatabase } from "@parley/testkit";
import { createConversation, createDatabase, listConversations, markRead, readSync, searchMessages, type Database } from "@parley/db";

let testDb: TestDatabase;
// One connection: the calls measured and the stats flush run on the same backend.
let database: Database;
let observer: Database;
beforeAll(async () => {
  testDb = await createTestDatabase();
  database = createDatabase({ url: testDb.url, max: 1 });
  observer = createDatabase({ url: testDb.url, max: 1 });
  // The statistics stay as this file sets them (the stale-statistics case below): autovacuum is
  // off on every partition of messages (a partitioned parent takes no storage parameters).
  await database.sql`
    do $$
    declare p regclass;
    begin
      for p in select inhrelid::regclass from pg_inherits where inhparent = 'messages'::regclass loop
        execute format('alter table %s set (autovacuum_enabled = false)', p);
      end loop;
    end $$`;
});
afterAll(async () => {
  await database?.close();
  await observer?.close();
  await testDb?.drop();
});

const messagesRead = async () => {
  const [row] = await observer.sql<{ n: number }[]>`
    select coalesce(sum(coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0)), 0)::int8 as n from pg_stat_user_tables
    where relid in (select inhrelid from pg_inherits where inhparent = 'messages'::regclass)`;
  return row!.n;
};

/** Rows of `messages` Postgres read while `work` ran on `database`'s one connection. */
async function rowsRead(work: () => Promise<unknown>): Promise<number> {
  // Whatever ran before on this backend is reported first.
  await database.sql`select pg_stat_force_next_flush()`;
  await database.sql`select 1`;
  const before = await messagesRead();
  await work();
  // The backend reports its counters when it next goes idle; this makes that report immediate.
  await database.sql`select pg_stat_force_next_flush()`;
  await database.sql`select 1`;
  return (await messagesRead()) - before;
}

/** `count` messages in a new conversation of alice and bob, the newest last; every `aliceEvery`-th is alice's. */
async function seed(count: number, body: (i: number) => string, aliceEvery = 0): Promise<string> {
  const { conversation } = await createConversation(database.sql, { id: randomUUID(), kind: "group", createdBy: "alice", memberIds: ["bob"] });
  const c = conversation.id;
  await database.sql`
    insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, created_at)
    select gen_random_uuid(), ${c}::uuid, g,
      case when ${aliceEvery}::int > 0 and g % ${aliceEvery}::int = 0 then 'alice' else 'bob' end,
      gen_random_uuid(), 'text', b.body, now() - (${count}::int - g) * interval '1 millisecond'
    from generate_series(1, ${count}::int) g
    join unnest(${Array.from({ length: count }, (_, i) => body(i + 1))}::text[]) with ordinality b(body, n) on b.n = g`;
  await database.sql`update conversations set last_seq = ${count}, last_message_at = now() where id = ${c}`;
  return c;
}

describe("the own-unread count (messages_sender_seq_idx)", () => {
  let c: string;
  let mine: string;
  beforeAll(async () => {
    // What a partition of messages holds: many conversations (160 of carol's, 20 messages
    // each, about 20 per partition). The planner estimates "this conversation" per partition,
    // as one of its conversations: a partition holding one conversation alone, all alice's,
    // is read whole by a sequential scan, the cheapest plan there.
    await database.sql`
      insert into conversations (id, kind, created_by, last_seq) select gen_random_uuid(), 'group', 'carol', 20 from generate_series(1, 160)`;
    await database.sql`
      insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body)
      select gen_random_uuid(), c.id, g, 'carol', gen_random_uuid(), 'text', 'filler'
      from conversations c, generate_series(1, 20) g where c.created_by = 'carol'`;
    // Alice never read a busy conversation: 5,000 messages after her watermark, 5 her own.
    c = await seed(5_000, (i) => `message ${i}`, 1_000);
    // And she writes a lot elsewhere: her own messages are no short cut either.
    mine = await seed(5_000, (i) => `mine ${i}`, 1);
    await database.sql`update members set read_seq = 5000 where conversation_id = ${mine} and user_id = 'alice'`;
    await database.sql`analyze messages`;
  });

  it("reads alice's own messages after her watermark, not the whole conversation, in all three queries", async () => {
    const listed = await rowsRead(async () => {
      const { conversations } = await listConversations(database.sql, "alice", { limit: 50 });
      expect(conversations.find((x) => x.id === c)?.unreadCount).toBe(4_995);
    });
    const synced = await rowsRead(() => readSync(database.sql, { userId: "alice", cursors: { [c]: 5_000, [mine]: 5_000 } }));
    const read = await rowsRead(async () => {
      const state = await markRead(database.sql, c, "alice", 10);
      expect(state?.unreadCount).toBe(4_985);
    });
    // Without the index each one read ~5,000 rows: the primary key from the watermark on, or
    // every message alice ever wrote (the sender's idempotency index).
    expect(listed, "listConversations").toBeLessThan(50);
    expect(synced, "readSync").toBeLessThan(50);
    expect(read, "markRead").toBeLessThan(50);
  });
});

describe("search reads at most about 2 × maxRows messages whatever the query", () => {
  const maxRows = 2_000;
  let common: string;
  beforeAll(async () => {
    // Every message holds "the", none "the the": the statistics say "the" is in all of them.
    common = await seed(30_000, (i) => `the quick fox number ${i}`);
    await database.sql`analyze messages`;
  });
  /**
   * The search's answer, and the rows its work read: parley_search's alone, because on a
   * table this small the planner joins its ≤ 50 rows back to `messages` by a sequential scan,
   * where on a real table it looks them up by key.
   */
  async function search(q: string): Promise<{ found: { seq: number }[]; read: number }> {
    const found = await searchMessages(database.sql, { userId: "alice", q, conversationId: common, maxRows, limit: 50 });
    const read = await rowsRead(() => database.sql`select * from parley_search('alice', ${q}, ${common}::uuid, 50, ${maxRows}::int)`.execute());
    return { found, read };
  }

  it.each(['"the the"', "the -the", "fox -quick", '"fox the"'])("%s: nothing matches, and the search stops at the budget", async (q) => {
    const { found, read } = await search(q);
    expect(found).toEqual([]);
    // Before the budget: all 30,000.
    expect(read).toBeLessThanOrEqual(2 * maxRows + 10);
  });

  it("a common word still answers its newest matches cheaply", async () => {
    const { found, read } = await search("the");
    expect(found).toHaveLength(50);
    expect(Math.min(...found.map((m) => m.seq))).toBeGreaterThan(29_000);
    expect(read).toBeLessThan(1_000);
  });

  it("a rare word is still found through the index, however old", async () => {
    const { found, read } = await search("12");
    expect(found.map((m) => m.seq)).toEqual([12]);
    expect(read).toBeLessThan(10);
  });

  it("statistics that call a common word rare: the index's candidates are counted up to the budget, then the walk", async () => {
    // 6,000 newer messages of a word the (now stale) statistics have never seen: "rare" to them.
    await database.sql`
      insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, created_at)
      select gen_random_uuid(), ${common}::uuid, g, 'bob', gen_random_uuid(), 'text', 'zebra crossing ' || g, now() + (g - 30000) * interval '1 millisecond'
      from generate_series(30001, 36000) g`;
    await database.sql`update conversations set last_seq = 36000, last_message_at = now() + interval '1 minute' where id = ${common}`;
    const { found, read } = await search("zebra");
    expect(found).toHaveLength(50);
    expect(Math.min(...found.map((m) => m.seq))).toBeGreaterThan(35_000);
    // Before the budget: all 6,000 candidates, fetched and sorted.
    expect(read).toBeLessThanOrEqual(2 * maxRows + 10);
  });
});
