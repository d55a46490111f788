/**
 * node tools/bench/dist/persist-partition-ab.js [--rounds=N] [--seed-messages=N] [--partitions=N]
 * [--no-fsync]: the commit
 * function on the unpartitioned `messages` of migration 0012 and on the hash-partitioned one of
 * 0013 (message_keys, message_ids), side by side: two databases on one PostgreSQL (fsync on),
 * the same history seeded in both, commits of 1 and of 100 messages in interleaved rounds, so
 * whatever else loads the machine weighs on both alike. Reports per commit: wall time
 * (median, p90, mean), the backend's CPU (user + system from /proc, over all rounds), and the
 * rows and buffers the commit's statement touched (EXPLAIN ANALYZE of the function's inner
 * statement through auto_explain, one commit of 100 each; the plans are written to
 * bench-results/persist-partition-ab-<stamp>.txt). Last, migration 0013 converts the
 * unpartitioned database (seeded history and every commit of the run) and its time is reported.
 *
 * The whole message path's maximum, partitioned or not: `npm run bench -- --only=message-path`
 * with and without `--messages=unpartitioned` (docs/benchmarks.md says how).
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { runMigrations } from "@parley/db";
import { createDatabase, startPostgres, type TestDatabase } from "@parley/testkit";
import { seedHistory } from "./seed.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const ROUNDS = arg("rounds", 400);
const SEED = arg("seed-messages", 200_000);
/** --partitions=N: the partitioned side re-partitioned to N (parley_partition_messages) before the run; default the migration's 8. */
const PARTITIONS = arg("partitions", 8);
/** --no-fsync: both sides without fsync, so the commits' CPU shows through the disk's noise (not the durable configuration). */
const FSYNC = !process.argv.includes("--no-fsync");
const CONVERSATIONS = 200;
const MEMBERS = 5;
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux

type Variant = "unpartitioned" | "partitioned";
interface Side {
  db: TestDatabase;
  sql: postgres.Sql;
  pid: number;
  conversations: string[];
}

/** user + system CPU of a backend, in seconds (/proc/<pid>/stat fields 14 and 15). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

const pg = await startPostgres({ durable: FSYNC });
const sides = {} as Record<Variant, Side>;
try {
  for (const variant of ["unpartitioned", "partitioned"] as const) {
    const db = await createDatabase(pg.url, { prefix: `persist_${variant}`, migrate: false });
    // 12: the last migration before messages was partitioned.
    await runMigrations(db.url, variant === "unpartitioned" ? { through: 12 } : {});
    if (SEED > 0) await seedHistory(db.url, SEED);
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    if (variant === "partitioned" && PARTITIONS !== 8) await sql`select parley_partition_messages(${PARTITIONS}::int)`;
    const [{ pid }] = await sql<[{ pid: number }]>`select pg_backend_pid() as pid`;
    const conversations: string[] = [];
    for (let c = 0; c < CONVERSATIONS; c++) {
      const id = randomUUID();
      conversations.push(id);
      await sql`insert into conversations (id, kind, created_by) values (${id}, 'group', ${`u${c * MEMBERS}`})`;
      await sql`insert into members (conversation_id, user_id) select ${id}, 'u' || (${c * MEMBERS} + g) from generate_series(0, ${MEMBERS - 1}) g`;
    }
    sides[variant] = { db, sql, pid, conversations };
  }
  const items = (side: Side, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const c = Math.floor(Math.random() * CONVERSATIONS);
      const senderId = `u${c * MEMBERS + (i % MEMBERS)}`;
      return { id: randomUUID(), conversationId: side.conversations[c], senderId, senderName: senderId, clientMessageId: randomUUID(), kind: "text", body: "hello there" };
    });
  const call = async (side: Side, batch: unknown[]) => {
    const started = performance.now();
    await side.sql`select * from parley_persist_batch(${side.sql.json(batch as postgres.JSONValue)}::jsonb)`;
    return performance.now() - started;
  };
  // 20,000 messages through each first (caches, plans, the load's own conversations), then statistics.
  for (let r = 0; r < 100; r++) for (const side of Object.values(sides)) await call(side, items(side, 100));
  for (const side of Object.values(sides)) await side.sql`analyze`;

  const sizes = [1, 100] as const;
  const times: Record<Variant, Record<1 | 100, number[]>> = { unpartitioned: { 1: [], 100: [] }, partitioned: { 1: [], 100: [] } };
  const cpu: Record<Variant, Record<1 | 100, number>> = { unpartitioned: { 1: 0, 100: 0 }, partitioned: { 1: 0, 100: 0 } };
  for (let r = 0; r < ROUNDS; r++) {
    const order: Variant[] = r % 2 ? ["unpartitioned", "partitioned"] : ["partitioned", "unpartitioned"];
    for (const v of order) {
      for (const n of sizes) {
        const side = sides[v];
        const batch = items(side, n);
        const before = cpuSeconds(side.pid);
        times[v][n].push(await call(side, batch));
        cpu[v][n] += cpuSeconds(side.pid) - before;
      }
    }
  }

  // One commit of 100 each, with the inner statement's EXPLAIN ANALYZE (auto_explain, nested
  // statements, sent to this session as LOG messages).
  const plans: Record<Variant, string> = { unpartitioned: "", partitioned: "" };
  for (const v of ["unpartitioned", "partitioned"] as const) {
    const notices: string[] = [];
    const sql = postgres(sides[v].db.url, { max: 1, onnotice: (n) => notices.push(String(n.message)) });
    try {
      await sql`load 'auto_explain'`;
      await sql`select set_config('auto_explain.log_min_duration', '0', false), set_config('auto_explain.log_analyze', 'on', false),
        set_config('auto_explain.log_buffers', 'on', false), set_config('auto_explain.log_nested_statements', 'on', false),
        set_config('client_min_messages', 'log', false)`;
      const batch = items(sides[v], 100);
      await sql`select * from parley_persist_batch(${sql.json(batch as postgres.JSONValue)}::jsonb)`;
      plans[v] = notices.filter((n) => n.includes("WITH items AS")).join("\n\n") || notices.join("\n\n");
    } finally {
      await sql.end();
    }
  }

  // Migration 0013 on the unpartitioned database as it now stands (the seeded history and
  // every commit above): how long the conversion holds its lock, per row.
  const [{ rows }] = await sides.unpartitioned.sql<[{ rows: number }]>`select count(*)::int as rows from messages`;
  const migrateStarted = performance.now();
  await runMigrations(sides.unpartitioned.db.url);
  const migrateMs = performance.now() - migrateStarted;

  const at = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.floor(p * (a.length - 1))]!;
  const out: string[] = [`persist-partition-ab: ${ROUNDS} rounds, ${SEED} seeded history messages, ${PARTITIONS} partitions, PostgreSQL fsync ${FSYNC ? "on" : "off"}`];
  for (const n of sizes) {
    for (const v of ["unpartitioned", "partitioned"] as const) {
      const a = times[v][n];
      const mean = a.reduce((x, y) => x + y, 0) / a.length;
      out.push(
        `${v.padEnd(13)} ${String(n).padStart(3)} per commit: median ${at(a, 0.5).toFixed(2)} ms, p90 ${at(a, 0.9).toFixed(2)} ms, mean ${mean.toFixed(2)} ms; ` +
          `backend CPU ${((cpu[v][n] / a.length) * 1000).toFixed(2)} ms per commit (${a.length} commits)`,
      );
    }
  }
  for (const v of ["unpartitioned", "partitioned"] as const) {
    const buffers = [...plans[v].matchAll(/Buffers: shared hit=(\d+)(?: read=(\d+))?(?: dirtied=(\d+))?/g)][0];
    const exec = plans[v].match(/"?Execution Time"?:? ([\d.]+)/)?.[1] ?? plans[v].match(/duration: ([\d.]+) ms/)?.[1];
    out.push(`${v.padEnd(13)} EXPLAIN ANALYZE of one commit of 100: ${exec ?? "?"} ms, top node buffers hit ${buffers?.[1] ?? "?"} read ${buffers?.[2] ?? 0}`);
  }
  out.push(`migration 0013 on the unpartitioned database: ${rows} messages in ${(migrateMs / 1000).toFixed(1)} s (${((migrateMs * 1000) / Math.max(rows, 1)).toFixed(1)} µs per message)`);
  const dir = join(ROOT, "bench-results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `persist-partition-ab-${new Date().toISOString().replace(/[:.]/g, "-")}.txt`);
  writeFileSync(file, `${out.join("\n")}\n\n== unpartitioned ==\n${plans.unpartitioned}\n\n== partitioned ==\n${plans.partitioned}\n`);
  out.push(`plans: ${file}`);
  process.stdout.write(`${out.join("\n")}\n`);
} finally {
  for (const side of Object.values(sides)) {
    await side.sql.end();
    await side.db.drop();
  }
  await pg.close();
}
