// GET /v1/search (issue 3, point 7): scoping, the conversation filter, ranking, edits and
// deletions, validation. The latency on a million messages is measured by tools/bench.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Message } from "@parley/protocol";
import { startCluster, type Cluster } from "./cluster.js";

let cluster: Cluster;
let alice: string;
let bob: string;
let carol: string;
/** alice + bob */
let shared: string;
/** bob + carol: alice is not a member */
let private_: string;
/** alice + carol */
let other: string;

beforeAll(async () => {
  cluster = await startCluster({ gateways: 2 });
  [alice, bob, carol] = await Promise.all([cluster.token("s-alice", "Alice"), cluster.token("s-bob", "Bob"), cluster.token("s-carol", "Carol")]);
  shared = (await cluster.createConversation(alice, ["s-bob"])).id;
  private_ = (await cluster.createConversation(bob, ["s-carol"])).id;
  other = (await cluster.createConversation(alice, ["s-carol"])).id;
});
afterAll(async () => {
  await cluster?.stop();
});

async function post(token: string, conversationId: string, body: string): Promise<Message> {
  const res = await cluster.http(1, "POST", `/v1/conversations/${conversationId}/messages`, { token, body: { clientMessageId: randomUUID(), body } });
  if (res.status !== 201) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.message as Message;
}

const search = (token: string, query: Record<string, string | number>, pod = 0) =>
  cluster.http(pod, "GET", `/v1/search?${new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)]))}`, { token });

const bodies = (res: { body: { messages: Message[] } }) => res.body.messages.map((m) => m.body);

describe("GET /v1/search", () => {
  it("finds only messages of the caller's conversations, on either pod", async () => {
    await post(alice, shared, "the zebra crossing is closed");
    await post(bob, private_, "zebra secrets between bob and carol");
    await post(carol, other, "a zebra at the zoo");

    for (const pod of [0, 1]) {
      const res = await search(alice, { q: "zebra" }, pod);
      expect(res.status).toBe(200);
      expect(bodies(res).sort()).toEqual(["a zebra at the zoo", "the zebra crossing is closed"]);
    }
    expect(bodies(await search(bob, { q: "zebra" })).sort()).toEqual(["the zebra crossing is closed", "zebra secrets between bob and carol"]);
    expect(bodies(await search(await cluster.token("s-nobody"), { q: "zebra" }))).toEqual([]);
    // Whole Message objects, as history returns them.
    const [hit] = (await search(alice, { q: "crossing" })).body.messages as Message[];
    const history = await cluster.http(0, "GET", `/v1/conversations/${shared}/messages`, { token: alice });
    expect(history.body.messages).toContainEqual(hit);
  });

  it("filters by conversationId, and answers FORBIDDEN for a conversation the caller is not in (or that does not exist)", async () => {
    await post(alice, shared, "giraffe in the shared one");
    await post(alice, other, "giraffe in the other one");
    expect(bodies(await search(alice, { q: "giraffe", conversationId: other }))).toEqual(["giraffe in the other one"]);
    expect(bodies(await search(alice, { q: "giraffe", conversationId: shared }))).toEqual(["giraffe in the shared one"]);
    for (const conversationId of [private_, randomUUID()]) {
      const res = await search(alice, { q: "zebra", conversationId });
      expect({ status: res.status, body: res.body }).toEqual({ status: 403, body: { error: { code: "FORBIDDEN", message: expect.any(String) } } });
    }
  });

  it("ranks denser matches first, ties newest first, and all words must match", async () => {
    const sparse = await post(alice, shared, "we should probably deploy the new version of the billing service sometime tomorrow morning");
    const dense = await post(alice, shared, "deploy deploy deploy");
    const tieOld = await post(alice, shared, "rollback plan");
    const tieNew = await post(alice, shared, "rollback plan");
    const res = await search(alice, { q: "deploy" });
    expect(res.body.messages.map((m: Message) => m.id)).toEqual([dense.id, sparse.id]);
    expect((await search(alice, { q: "rollback" })).body.messages.map((m: Message) => m.id)).toEqual([tieNew.id, tieOld.id]);
    expect(bodies(await search(alice, { q: "deploy billing" }))).toEqual([sparse.body]);
    expect(bodies(await search(alice, { q: "deploy elephant" }))).toEqual([]);
    expect(bodies(await search(alice, { q: '"billing service"' }))).toEqual([sparse.body]);
    expect(bodies(await search(alice, { q: '"service billing"' }))).toEqual([]);
    expect(bodies(await search(alice, { q: "deploy -billing" }))).toEqual([dense.body]);
  });

  it("matches words in any language and case, without stemming or English stop words", async () => {
    await post(alice, other, "Die Straße ist gesperrt, café fermé");
    await post(alice, other, "Я люблю ПИЦЦУ");
    expect(bodies(await search(alice, { q: "die STRASSE" }))).toEqual([]);
    expect(bodies(await search(alice, { q: "die straße" }))).toEqual(["Die Straße ist gesperrt, café fermé"]);
    expect(bodies(await search(alice, { q: "CAFÉ" }))).toEqual(["Die Straße ist gesperrt, café fermé"]);
    expect(bodies(await search(alice, { q: "пиццу" }))).toEqual(["Я люблю ПИЦЦУ"]);
    // Punctuation only: no words, nothing found (not an error).
    expect(await search(alice, { q: "?!" })).toMatchObject({ status: 200, body: { messages: [] } });
  });

  it("never finds deleted messages, and finds edited ones by their new text only", async () => {
    const socket = await cluster.connect(1, alice);
    const doomed = await post(alice, shared, "platypus sighting");
    const edited = await post(alice, shared, "wombat sighting");
    expect(bodies(await search(alice, { q: "platypus" }))).toEqual(["platypus sighting"]);
    expect(await socket.emitWithAck("message:delete", { messageId: doomed.id })).toMatchObject({ ok: true });
    expect(await socket.emitWithAck("message:edit", { messageId: edited.id, body: "echidna sighting" })).toMatchObject({ ok: true });
    expect(bodies(await search(alice, { q: "platypus" }))).toEqual([]);
    expect(bodies(await search(alice, { q: "wombat" }))).toEqual([]);
    const found = await search(bob, { q: "echidna" });
    expect(found.body.messages).toEqual([expect.objectContaining({ id: edited.id, body: "echidna sighting", editedAt: expect.any(String) })]);
    expect(bodies(await search(alice, { q: "sighting" }))).toEqual(["echidna sighting"]);
  });

  it("stops finding a conversation's messages for a member who was removed", async () => {
    const group = (await cluster.createConversation(carol, ["s-bob"])).id;
    await post(carol, group, "quokka selfie");
    expect(bodies(await search(bob, { q: "quokka" }))).toEqual(["quokka selfie"]);
    expect((await cluster.http(0, "DELETE", `/v1/conversations/${group}/members/s-bob`, { token: carol })).status).toBe(204);
    expect(bodies(await search(bob, { q: "quokka" }))).toEqual([]);
    expect((await search(bob, { q: "quokka", conversationId: group })).status).toBe(403);
  });

  it("answers at most limit messages: 20 by default, 100 at most", async () => {
    const group = (await cluster.createConversation(alice, ["s-bob"])).id;
    for (let i = 0; i < 25; i++) await post(alice, group, `lemur report ${i}`);
    expect((await search(alice, { q: "lemur" })).body.messages).toHaveLength(20);
    expect((await search(alice, { q: "lemur", limit: 3 })).body.messages).toHaveLength(3);
    expect((await search(alice, { q: "lemur", limit: 100 })).body.messages).toHaveLength(25);
  });

  it("refuses bad q, limit and conversationId with VALIDATION, and no token with UNAUTHORIZED", async () => {
    const bad: Record<string, string>[] = [
      {},
      { q: "" },
      { q: "   " },
      { q: "x".repeat(257) },
      { q: "nul\u0000" },
      { q: "zebra", limit: "0" },
      { q: "zebra", limit: "101" },
      { q: "zebra", limit: "ten" },
      { q: "zebra", limit: "1.5" },
      { q: "zebra", conversationId: "not-a-uuid" },
    ];
    for (const query of bad) {
      const res = await search(alice, query);
      expect({ query, status: res.status, body: res.body }).toEqual({ query, status: 400, body: { error: { code: "VALIDATION", message: expect.any(String) } } });
    }
    // A lone surrogate cannot travel in a URL as UTF-8; percent-encoded it decodes to U+FFFD
    // (a word like any other), so it is found harmlessly rather than refused.
    expect((await cluster.http(0, "GET", "/v1/search?q=%ED%A0%BD", { token: alice })).status).toBe(200);
    const anonymous = await cluster.http(0, "GET", "/v1/search?q=zebra");
    expect({ status: anonymous.status, code: anonymous.body.error.code }).toEqual({ status: 401, code: "UNAUTHORIZED" });
  });

  it("finds the same newest matches by walking conversations (the path for very common words) as by the index", async () => {
    const convs = [
      (await cluster.createConversation(alice, ["s-bob"])).id,
      (await cluster.createConversation(alice, ["s-carol"])).id,
      (await cluster.createConversation(alice, ["s-bob", "s-carol"])).id,
    ];
    // Interleaved over time across the three conversations; some without the word, one deleted.
    const socket = await cluster.connect(0, alice);
    for (let i = 0; i < 24; i++) {
      const message = await post(alice, convs[i % 3]!, i % 4 === 3 ? `unrelated ${i}` : `walker number ${i}`);
      if (i === 22) expect(await socket.emitWithAck("message:delete", { messageId: message.id })).toMatchObject({ ok: true });
    }
    const byIndex = await cluster.database.sql<{ conversation_id: string; seq: number }[]>`
      select m.conversation_id, m.seq from messages m
      where m.conversation_id = any(${convs}::uuid[]) and m.deleted_at is null
        and to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ websearch_to_tsquery('simple', 'walker')
      order by m.created_at desc, m.seq desc`;
    expect(byIndex).toHaveLength(17);
    for (const want of [1, 5, 17, 50]) {
      const walked = await cluster.database.sql<{ conversation_id: string; seq: number }[]>`
        select conversation_id, seq from parley_search_recent(${convs}::uuid[], websearch_to_tsquery('simple', 'walker'), ${want})`;
      expect({ want, walked: walked.map((r) => ({ ...r })) }).toEqual({ want, walked: byIndex.slice(0, want).map((r) => ({ ...r })) });
    }
  });

  it("finds queries mixing very common and selective words (index statistics present) through the index, with the same answers", async () => {
    const group = (await cluster.createConversation(alice, ["s-bob"])).id;
    for (let i = 0; i < 30; i++) await post(alice, group, `ubiquitous filler ${i}`);
    const both = await post(alice, group, "ubiquitous needle");
    await post(alice, group, "needle alone");
    await cluster.database.sql`analyze messages`;
    // The statistics now know "ubiquitous" as common (0004 left such words out of the index
    // condition; since 0007 GIN intersects every word): the answers must not depend on it.
    // messages is partitioned (migrations/0013): the statistics are those of each partition's
    // search index; the partition holding this conversation knows the word as common.
    const [{ share }] = await cluster.database.sql<[{ share: number }]>`
      select max(e.freq) as share
      from pg_inherits i join pg_class ic on ic.oid = i.inhrelid
      join pg_stats s on s.tablename = ic.relname,
      unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) e(elem, freq)
      where i.inhparent = 'messages_search_idx'::regclass and e.elem = 'ubiquitous'`;
    expect(share).toBeGreaterThan(0.05);
    expect((await search(alice, { q: "needle ubiquitous" })).body.messages.map((m: Message) => m.id)).toEqual([both.id]);
    expect(bodies(await search(alice, { q: "ubiquitous needle", conversationId: group }))).toEqual(["ubiquitous needle"]);
    expect(bodies(await search(alice, { q: "needle" })).sort()).toEqual(["needle alone", "ubiquitous needle"]);
    expect(bodies(await search(alice, { q: "needle -ubiquitous" }))).toEqual(["needle alone"]);
    expect(bodies(await search(alice, { q: '"ubiquitous needle"' }))).toEqual(["ubiquitous needle"]);
    // Every word common: found all the same.
    expect(bodies(await search(alice, { q: "filler ubiquitous 7", conversationId: group }))).toEqual(["ubiquitous filler 7"]);
  });
});
