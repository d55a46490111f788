import { randomUUID } from "node:crypto";
import { createClient, type ExportLine, type ParleyClient } from "@parley/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCluster, type Cluster } from "./cluster.js";

/**
 * Retention, export and erasure (protocol.md v1.1) through both gateways, over HTTP and the
 * SDK, against real Postgres and Redis, with the delivery service's workers in the process.
 */
let cluster: Cluster;
const clients: ParleyClient[] = [];

beforeAll(async () => {
  cluster = await startCluster({
    gateways: 2,
    delivery: { env: { RETENTION_SWEEP_MS: "1000", RETENTION_BATCH_SIZE: "2", ERASURE_BATCH_SIZE: "3" } },
  });
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await cluster?.stop();
});

const admin = () => cluster.token("root", "Root", { claims: { parley_role: "admin" } });

function sdk(gateway: number, user: string, claims: Record<string, unknown> = {}): ParleyClient {
  const client = createClient({ url: cluster.url(gateway), getToken: () => cluster.token(user, user, { claims }) });
  clients.push(client);
  return client;
}

async function send(gateway: number, token: string, conversationId: string, body: string) {
  const res = await cluster.http(gateway, "POST", `/v1/conversations/${conversationId}/messages`, { token, body: { clientMessageId: randomUUID(), body } });
  if (res.status !== 201) throw new Error(JSON.stringify(res.body));
  return res.body.message as { id: string; seq: number };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function collect(lines: AsyncIterable<ExportLine>): Promise<ExportLine[]> {
  const out: ExportLine[] = [];
  for await (const l of lines) out.push(l);
  return out;
}

/** Rows the search index answers for a word (the gateway's expression, the GIN index forced). */
async function searchHits(word: string): Promise<number> {
  return cluster.database.sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    const [row] = await tx<{ n: number }[]>`
      select count(*)::int as n from messages
      where to_tsvector('simple'::regconfig, lower(body COLLATE "und-x-icu")) @@ to_tsquery('simple', ${word})`;
    return row!.n;
  }) as Promise<number>;
}

describe("retention", () => {
  it("PATCH retentionDays is the owner's or an admin's; the sweep turns older messages into tombstones in batches, seq gap-free, search index and reactions emptied", async () => {
    const alice = await cluster.token("alice");
    const bob = await cluster.token("bob");
    const conversation = await cluster.createConversation(alice, ["bob"]);
    const old: { id: string; seq: number }[] = [];
    for (let i = 0; i < 5; i++) old.push(await send(i % 2, alice, conversation.id, `ancientword${i} from long ago`));
    await send(1, bob, conversation.id, "freshword still here");
    expect((await cluster.http(0, "POST", `/v1/messages/${old[0]!.id}/report`, { token: bob, body: { reason: "spam" } })).status).toBe(201);
    const socket = await cluster.connect(0, bob);
    expect((await socket.emitWithAck("reaction:add", { messageId: old[1]!.id, emoji: "👍" })).ok).toBe(true);
    socket.disconnect();
    // Forty days ago, as far as the rows know.
    await cluster.database.sql`update messages set created_at = now() - interval '40 days' where id = any(${old.map((m) => m.id)}::uuid[])`;
    await cluster.database.sql`update conversations set created_at = now() - interval '41 days' where id = ${conversation.id}`;

    // Bob's device on the other gateway, listening: the tombstones are announced as deletions are.
    const watcher = await cluster.connect(1, bob);
    const announced: { id: string; body: string | null; deletedAt?: string }[] = [];
    watcher.on("message:updated", (m) => void announced.push(m));

    // A member who is not owner or admin may not; the owner may (gateway 1), and so may an admin.
    expect((await cluster.http(0, "PATCH", `/v1/conversations/${conversation.id}`, { token: bob, body: { retentionDays: 30 } })).status).toBe(403);
    expect((await cluster.http(1, "PATCH", `/v1/conversations/${conversation.id}`, { token: alice, body: {} })).status).toBe(400);
    const patched = await cluster.http(1, "PATCH", `/v1/conversations/${conversation.id}`, { token: alice, body: { retentionDays: 30 } });
    expect(patched.status).toBe(200);
    expect(patched.body.conversation.retentionDays).toBe(30);
    const byAdmin = await cluster.http(0, "PATCH", `/v1/conversations/${conversation.id}`, { token: await admin(), body: { retentionDays: 30 } });
    expect(byAdmin.status).toBe(200);

    await until(async () => {
      const [row] = await cluster.database.sql<{ n: number }[]>`select count(*)::int as n from messages where conversation_id = ${conversation.id} and deleted_at is not null`;
      return row!.n === 5;
    }, "the sweep to tombstone the five old messages");
    const rows = await cluster.database.sql<{ seq: number; body: string | null; attachments: unknown; deleted_at: Date | null }[]>`
      select seq, body, attachments, deleted_at from messages where conversation_id = ${conversation.id} order by seq`;
    expect(rows.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.slice(0, 5).every((r) => r.body === null && r.attachments === null && r.deleted_at !== null)).toBe(true);
    expect(rows[5]!.body).toBe("freshword still here");
    expect(await searchHits("ancientword1")).toBe(0);
    expect(await searchHits("freshword")).toBe(1);
    const [reactions] = await cluster.database.sql<{ n: number }[]>`select count(*)::int as n from reactions where message_id = ${old[1]!.id}`;
    expect(reactions!.n).toBe(0);
    await until(async () => announced.length >= 5, "bob's device to hear the five tombstones");
    expect(announced.map((m) => m.id).sort()).toEqual(old.map((m) => m.id).sort());
    expect(announced.every((m) => m.body === null && m.deletedAt !== undefined)).toBe(true);
    watcher.disconnect();
    const history = await cluster.http(1, "GET", `/v1/conversations/${conversation.id}/messages`, { token: bob });
    expect(history.body.messages.map((m: { seq: number; body: string | null }) => [m.seq, m.body])).toEqual([[1, null], [2, null], [3, null], [4, null], [5, null], [6, "freshword still here"]]);


    // The SDK's call, back to the default (keep forever).
    const owner = sdk(0, "alice");
    expect((await owner.conversations.setRetention(conversation.id, null)).retentionDays).toBeNull();
    const tombstoned = (await cluster.deliveryRegistry.getSingleMetric("parley_retention_tombstoned_total")!.get()).values[0]!.value;
    expect(tombstoned).toBeGreaterThanOrEqual(5);
  });
});

describe("export", () => {
  it("GET /v1/me/export streams the caller's data as NDJSON ending with counts; the admin route exports anyone; others are refused", async () => {
    const erin = await cluster.token("erin-export", "Erin");
    const conversation = await cluster.createConversation(erin, ["frank"]);
    for (let i = 0; i < 7; i++) await send(i % 2, erin, conversation.id, `export line ${i}`);
    expect((await cluster.http(0, "PUT", "/v1/blocks/troll", { token: erin })).status).toBe(204);

    const res = await fetch(`${cluster.url(1)}/v1/me/export`, { headers: { authorization: `Bearer ${erin}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/x-ndjson");
    const lines = (await res.text()).trim().split("\n").map((l) => JSON.parse(l) as ExportLine);
    expect(lines[0]).toMatchObject({ type: "profile", user: { id: "erin-export", name: "Erin" } });
    expect(lines.filter((l) => l.type === "message")).toHaveLength(7);
    expect(lines.filter((l) => l.type === "membership")).toHaveLength(1);
    expect(lines.filter((l) => l.type === "block")).toEqual([expect.objectContaining({ userId: "troll" })]);
    expect(lines.at(-1)).toEqual({ type: "end", counts: { membership: 1, message: 7, reaction: 0, block: 1, report: 0 } });

    // The SDK reads the same stream line by line; the admin's call exports another user.
    const mine = await collect(await sdk(0, "erin-export").exportData());
    expect(mine.filter((l) => l.type === "message")).toHaveLength(7);
    const adminClient = sdk(1, "root", { parley_role: "admin" });
    const theirs = await collect(await adminClient.admin.exportUser("erin-export"));
    expect(theirs.at(-1)).toMatchObject({ type: "end", counts: { message: 7 } });

    const frank = await cluster.token("frank");
    expect((await cluster.http(0, "GET", "/v1/admin/users/erin-export/export", { token: frank })).status).toBe(403);
    expect((await cluster.http(1, "GET", "/v1/me/export", {})).status).toBe(401);
    const audit = await cluster.database.sql<{ actor_id: string }[]>`select actor_id from audit_log where action = 'user.export' and target_id = 'erin-export'`;
    expect(audit.map((a) => a.actor_id).sort()).toEqual(["erin-export", "erin-export", "root"]);
  });
});

describe("erasure", () => {
  it("DELETE /v1/admin/users/:userId is a job: every message a tombstone, reactions, blocks, memberships and name gone, sockets closed; run twice, it finds nothing more to do", async () => {
    const gina = await cluster.token("gina", "Gina Secretname");
    const hal = await cluster.token("hal");
    const conversation = await cluster.createConversation(gina, ["hal"]);
    const other = await cluster.createConversation(hal, ["gina"]);
    const ginas: { id: string; seq: number }[] = [];
    for (let i = 0; i < 8; i++) ginas.push(await send(i % 2, gina, i < 5 ? conversation.id : other.id, `ginasecret${i} words`));
    const hals = await send(0, hal, conversation.id, "hal speaks");
    const ginaSocket = await cluster.connect(1, gina);
    expect((await ginaSocket.emitWithAck("reaction:add", { messageId: hals.id, emoji: "🎉" })).ok).toBe(true);
    expect((await ginaSocket.emitWithAck("message:report", { messageId: hals.id, reason: "other", note: "ginanote about hal" })).ok).toBe(true);
    const halSocket = await cluster.connect(0, hal);
    expect((await halSocket.emitWithAck("reaction:add", { messageId: ginas[0]!.id, emoji: "👀" })).ok).toBe(true);
    // Hal's device stays, listening: gina's messages in both conversations are announced as tombstones.
    const announced: { id: string; body: string | null; deletedAt?: string; senderName: string }[] = [];
    halSocket.on("message:updated", (m) => void announced.push(m));
    expect((await cluster.http(0, "PUT", "/v1/blocks/spammer", { token: gina })).status).toBe(204);
    const closed = new Promise<void>((resolve) => ginaSocket.once("disconnect", () => resolve()));

    expect((await cluster.http(0, "DELETE", "/v1/admin/users/gina", { token: hal })).status).toBe(403);
    const adminClient = sdk(1, "root", { parley_role: "admin" });
    const { jobId } = await adminClient.admin.eraseUser("gina");
    await until(async () => (await adminClient.admin.job(jobId)).state === "completed", "the erasure job");
    expect(await adminClient.admin.job(jobId)).toMatchObject({ id: jobId, kind: "erasure", state: "completed", progress: { phase: "done", messages: 8 } });
    await closed;
    await until(async () => announced.length >= 8, "hal's device to hear gina's eight tombstones");
    expect(announced.map((m) => m.id).sort()).toEqual(ginas.map((m) => m.id).sort());
    expect(announced.every((m) => m.body === null && m.deletedAt !== undefined && m.senderName === "Deleted user")).toBe(true);
    halSocket.disconnect();

    const assertErased = async () => {
      const messages = await cluster.database.sql<{ body: string | null; attachments: unknown; body_digest: Buffer | null; deleted_at: Date | null; seq: number }[]>`
        select body, attachments, body_digest, deleted_at, seq from messages where sender_id = 'gina'`;
      expect(messages).toHaveLength(8);
      expect(messages.every((m) => m.body === null && m.attachments === null && m.body_digest === null && m.deleted_at !== null)).toBe(true);
      // Nowhere in any table: the text, the name, the report note.
      const dump = JSON.stringify(
        await cluster.database.sql`
          select (select json_agg(m) from messages m) as messages, (select json_agg(u) from users u) as users,
                 (select json_agg(r) from reports r) as reports, (select json_agg(x) from reactions x) as reactions,
                 (select json_agg(b) from user_blocks b) as blocks, (select json_agg(mb) from members mb) as members`,
      );
      for (const secret of ["ginasecret", "Secretname", "ginanote"]) expect(dump).not.toContain(secret);
      for (let i = 0; i < 8; i++) expect(await searchHits(`ginasecret${i}`)).toBe(0);
      const [left] = await cluster.database.sql<{ reactions: number; blocks: number; members: number; name: string }[]>`
        select (select count(*)::int from reactions where user_id = 'gina' or message_id = any(${ginas.map((m) => m.id)}::uuid[])) as reactions,
               (select count(*)::int from user_blocks where blocker_id = 'gina' or blocked_id = 'gina') as blocks,
               (select count(*)::int from members where user_id = 'gina') as members,
               (select display_name from users where id = 'gina') as name`;
      expect(left).toEqual({ reactions: 0, blocks: 0, members: 0, name: "Deleted user" });
      // Seqs keep their places: the conversation is still 1..6 without gaps.
      const seqs = await cluster.database.sql<{ seq: number }[]>`select seq from messages where conversation_id = ${conversation.id} order by seq`;
      expect(seqs.map((s) => Number(s.seq))).toEqual([1, 2, 3, 4, 5, 6]);
    };
    await assertErased();

    // Run twice: a new job, nothing more to do, the same state.
    const again = await cluster.http(0, "DELETE", "/v1/admin/users/gina", { token: await admin() });
    expect(again.status).toBe(202);
    await until(async () => (await cluster.http(1, "GET", `/v1/admin/jobs/${again.body.jobId}`, { token: await admin() })).body.job?.state === "completed", "the second erasure");
    await assertErased();
    expect((await cluster.http(0, "GET", "/v1/admin/jobs/erasure-nope", { token: await admin() })).status).toBe(404);
    const audit = await cluster.database.sql<{ n: number }[]>`select count(*)::int as n from audit_log where action = 'user.erase' and target_id = 'gina'`;
    expect(audit[0]!.n).toBe(2);
  });
});
