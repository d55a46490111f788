/**
 * node tools/bench/dist/persist-membership-ab.js: the commit function with and without its
 * membership check (migrations 0008 and 0012), side by side in one database, in interleaved
 * rounds, so whatever else loads the machine weighs on both alike. The full message-path bench
 * cannot tell a difference this small apart from its noise on a shared machine
 * (docs/decisions/0037-exact-membership.md has the numbers of both).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { createDatabase, startPostgres } from "@parley/testkit";

const HERE = dirname(fileURLToPath(import.meta.url));
const MIGRATIONS = resolve(HERE, "../../../libs/db/migrations");
const ROUNDS = 400;
const CONVERSATIONS = 200;
const MEMBERS = 5;

const statements = (file: string) =>
  readFileSync(resolve(MIGRATIONS, file), "utf8")
    .split("--> statement-breakpoint")
    .map((s) => s.trim())
    .filter(Boolean);

const pg = await startPostgres({ durable: true });
const db = await createDatabase(pg.url, { prefix: "persist_ab" });
const sql = postgres(db.url, { max: 1, onnotice: () => {} });
try {
  // The database is at the newest migration (0012's function); 0008's beside it under another name.
  for (const s of statements("0008_persist_batch_lookups_by_key.sql")) await sql.unsafe(s.replaceAll("parley_persist_batch(", "parley_persist_batch_0008("));
  const conversations: string[] = [];
  for (let c = 0; c < CONVERSATIONS; c++) {
    const id = randomUUID();
    conversations.push(id);
    await sql`insert into conversations (id, kind, created_by) values (${id}, 'group', ${`u${c * MEMBERS}`})`;
    await sql`insert into members (conversation_id, user_id) select ${id}, 'u' || (${c * MEMBERS} + g) from generate_series(0, ${MEMBERS - 1}) g`;
  }
  const items = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const c = Math.floor(Math.random() * CONVERSATIONS);
      const senderId = `u${c * MEMBERS + (i % MEMBERS)}`;
      return { id: randomUUID(), conversationId: conversations[c], senderId, senderName: senderId, clientMessageId: randomUUID(), kind: "text", body: "hello there" };
    });
  const variants = { without: "parley_persist_batch_0008", with: "parley_persist_batch" } as const;
  const call = async (fn: string, batch: ReturnType<typeof items>) => {
    const started = performance.now();
    await sql`select * from ${sql.unsafe(fn)}(${sql.json(batch)}::jsonb)`;
    return performance.now() - started;
  };
  // 20,000 stored messages first, through both.
  for (let r = 0; r < 100; r++) for (const fn of Object.values(variants)) await call(fn, items(100));
  await sql`analyze`;
  const times: Record<keyof typeof variants, Record<1 | 100, number[]>> = { without: { 1: [], 100: [] }, with: { 1: [], 100: [] } };
  for (let r = 0; r < ROUNDS; r++) {
    const order: (keyof typeof variants)[] = r % 2 ? ["without", "with"] : ["with", "without"];
    for (const v of order) for (const n of [1, 100] as const) times[v][n].push(await call(variants[v], items(n)));
  }
  const at = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))]!;
  for (const n of [1, 100] as const) {
    for (const v of ["without", "with"] as const) {
      const a = times[v][n];
      const mean = a.reduce((x, y) => x + y, 0) / a.length;
      process.stdout.write(`${v} membership check, ${n} per commit: median ${at(a, 0.5).toFixed(2)} ms, p90 ${at(a, 0.9).toFixed(2)} ms, mean ${mean.toFixed(2)} ms (${a.length} commits)\n`);
    }
  }
} finally {
  await sql.end();
  await db.drop();
  await pg.close();
}
