// The search benchmark (issue 3, point 9): `GET /v1/search`'s query on 1,000,000 messages.
//
//  1. PostgreSQL (fsync on, the server settings every environment starts with), a fresh
//     migrated database.
//  2. Seeds, in SQL (generate_series, no round trip per row): a 20,000-word vocabulary whose
//     words are drawn with a Zipf distribution (rank r with probability ~ 1/r: the top word is
//     in about half the messages, the rarest in a handful), 20,000 conversations of very
//     uneven sizes (the biggest holds ~4 % of all messages), bodies of 3..17 words spread
//     over a year, and a caller who belongs to 100 conversations, the biggest among them.
//     The search index is built after the load (as a bulk load would), then ANALYZE.
//  3. The index's cost on the hot insert path: parley_persist_batch (what the persister
//     calls) on the seeded table, without the index and then with it.
//  4. Latency of libs/db `searchMessages` (the gateway's query, reactions and all) for rare,
//     medium, common and multi-word queries, with and without the conversation filter;
//     p50/p95/p99 per class, and EXPLAIN (ANALYZE, BUFFERS) of one query per class.
//  5. docs/benchmarks.md (between the bench:search markers) and bench-results/search-<stamp>.json.
//
// `npm run bench -- --only=search`, or `node tools/bench/dist/search-bench.js` on its own;
// `--search-messages=N` seeds N messages instead of 1,000,000.
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { createDatabase as openDatabase, persistBatch, searchMessages, SEARCH_MAX_ROWS_DEFAULT, type Database, type PersistItem } from "@parley/db";
import { createDatabase, startPostgres, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { codeInfo, machineInfo, type CodeInfo, type MachineInfo } from "./report.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../../..");

export const SEARCH_CONFIG = {
  messages: 1_000_000,
  conversations: 20_000,
  vocabulary: 20_000,
  /** Conversations `c` with c % callerEvery === 0 have the caller as a member (100 of 20,000). */
  callerEvery: 200,
  warmupPerClass: 10,
  runsPerClass: 200,
  /** Write cost: messages stored through parley_persist_batch, in batches of `writeBatch`. */
  writeMessages: 20_000,
  writeBatch: 100,
  /** Rounds of (without the index, with it); the index is dropped and built again between. */
  writeRounds: 3,
  targetP99Ms: 50,
};

const CALLER = "bench-caller";
const START = "<!-- bench:search:start -->";
const END = "<!-- bench:search:end -->";

/** Frequent words of several languages first (the Zipf head), then made-up words. */
const HEAD_WORDS = [
  "the", "i", "you", "to", "a", "and", "it", "is", "de", "in", "that", "ok", "we", "la", "for", "on", "que", "no", "yes", "die",
  "this", "le", "be", "und", "el", "have", "en", "not", "with", "est", "just", "so", "are", "der", "lol", "what", "can", "was", "do", "je",
  "thanks", "today", "meeting", "tomorrow", "deploy", "lunch", "call", "review", "merci", "gracias",
];

type QueryClass = { name: string; words: number[][]; filter: "none" | "biggest" | "small" };

export interface ClassResult {
  name: string;
  filter: string;
  runs: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  meanHits: number;
  example: string;
}

export interface SearchBenchResults {
  date: string;
  command: string;
  machine: MachineInfo;
  code: CodeInfo;
  config: typeof SEARCH_CONFIG;
  seed: { messages: number; loadMs: number; indexMs: number; tableMiB: number; indexMiB: number; callerConversations: number; callerMessages: number; biggestConversation: number; smallConversation: number };
  wordStats: { rank: number; word: string; messages: number }[];
  write: { withoutIndexUsPerMessage: number; withIndexUsPerMessage: number; withoutIndexBatchP99Ms: number; withIndexBatchP99Ms: number };
  classes: ClassResult[];
  plans: { name: string; query: string; plan: string }[];
  /** parley_search_recent against the index, for the most common words. */
  agreement: { word: string; same: boolean; matches: number }[];
  totalSeconds: number;
}

const log = (line: string) => process.stdout.write(`[bench:search ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Deterministic PRNG (mulberry32): the same queries on every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;

/**
 * Loads the data set with a handful of statements. Word ranks follow Zipf (s = 1) by
 * inversion: rank = floor((V+1)^u) for u uniform in [0, 1) has P(rank = r) ~ 1/r.
 */
export async function seed(sql: postgres.Sql, n: number): Promise<number> {
  const { conversations: C, vocabulary: V, callerEvery } = SEARCH_CONFIG;
  const started = Date.now();
  await sql`set work_mem = '256MB'`;
  await sql`set maintenance_work_mem = '512MB'`;
  // The index is built after the load, as for any bulk load; the write-cost step measures it on the insert path.
  await sql`drop index if exists messages_search_idx`;
  await sql`create table bench_words (rank int primary key, word text not null unique)`;
  // Made-up words: two or three consonant-vowel syllables (70 syllables), all distinct.
  await sql`
    with syl as (select array_agg(c || v order by c, v) as s from unnest(string_to_array('b,d,f,g,k,l,m,n,p,r,s,t,v,z', ',')) c, unnest(string_to_array('a,e,i,o,u', ',')) v)
    insert into bench_words (rank, word)
    select r, coalesce((${HEAD_WORDS}::text[])[r],
      case when r < 4900 then s[1 + r % 70] || s[1 + (r / 70) % 70] else s[1 + r % 70] || s[1 + (r / 70) % 70] || s[1 + (r / 4900) % 70] end)
    from generate_series(1, ${V}::int) r, syl`;
  await sql`
    insert into users (id, display_name)
    select 'bench-user-' || u, 'Bench User ' || u from generate_series(0, 4999) u
    union all select ${CALLER}, 'Caller'`;
  await sql`
    insert into conversations (id, kind, title, created_by, created_at)
    select gen_random_uuid(), 'group', 'bench ' || c, 'bench-user-' || (c % 5000), now() - interval '366 days'
    from generate_series(0, ${C - 1}::int) c`;
  await sql`create table bench_conv as select id, substring(title from 7)::int as c from conversations`;
  await sql`create unique index on bench_conv (c)`;
  await sql`
    insert into members (conversation_id, user_id, role)
    select b.id, u.user_id, u.role from bench_conv b,
      lateral (values ('bench-user-' || (b.c % 5000), 'owner'), ('bench-user-' || ((b.c * 7 + 1) % 5000), 'member')) u(user_id, role)
    on conflict do nothing`;
  await sql`insert into members (conversation_id, user_id) select id, ${CALLER} from bench_conv where c % ${callerEvery} = 0`;
  // Which conversation each message goes to: c = floor(C * u^3) makes sizes very uneven
  // (conversation 0 holds ~4 %, the last ones a dozen each); seqs numbered per conversation.
  await sql`
    create table bench_plan as
    select g, c, row_number() over (partition by c order by g) as seq
    from (select g, floor(${C} * power(random(), 3))::int as c from generate_series(1, ${n}::int) g) x`;
  await sql`create index on bench_plan (g)`;
  const chunk = 100_000;
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1);
    await sql`
      insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, created_at)
      select gen_random_uuid(), b.id, p.seq,
        case when p.g % 2 = 0 then 'bench-user-' || (p.c % 5000) else 'bench-user-' || ((p.c * 7 + 1) % 5000) end,
        gen_random_uuid(), 'text', t.body,
        now() - interval '365 days' + (p.g::float8 / ${n}) * interval '365 days'
      from bench_plan p
      join bench_conv b on b.c = p.c
      join (
        select x.g, string_agg(w.word, ' ' order by x.k) as body
        from (
          select g, k, least(${V}, floor(power(${V + 1}::float8, random())))::int as r
          from generate_series(${from}::int, ${to}::int) g, generate_series(1, 3 + ((g::int8 * 7919) % 15)::int) k
        ) x
        join bench_words w on w.rank = x.r
        group by x.g
      ) t on t.g = p.g
      where p.g between ${from} and ${to}`;
    log(`  ${to.toLocaleString("en-US")} messages`);
  }
  await sql`
    update conversations cv set last_seq = s.n, last_message_at = s.at
    from (select conversation_id, count(*) as n, max(created_at) as at from messages group by conversation_id) s
    where s.conversation_id = cv.id`;
  return Date.now() - started;
}

export async function buildIndex(sql: postgres.Sql): Promise<number> {
  const started = Date.now();
  // The migration's definition, verbatim (libs/db/migrations/0004_search_and_edits.sql).
  const migration = readFileSync(join(ROOT, "libs/db/migrations/0004_search_and_edits.sql"), "utf8");
  const from = migration.indexOf("CREATE INDEX");
  const create = migration.slice(from, migration.indexOf(";", from) + 1);
  await sql.unsafe(create);
  await sql`analyze`;
  return Date.now() - started;
}

/** Stores `SEARCH_CONFIG.writeMessages` messages through parley_persist_batch; returns µs/message and batch p99. */
interface WriteCost {
  usPerMessage: number;
  batchP99Ms: number;
}

async function measureWrites(database: Database, conversationIds: string[], writeMessages = SEARCH_CONFIG.writeMessages): Promise<WriteCost> {
  const { writeBatch } = SEARCH_CONFIG;
  const random = prng(7);
  const words = HEAD_WORDS.concat(["kalo", "mibe", "tuzo", "refa", "dosu", "nevi"]);
  const batches: number[] = [];
  // The commit refuses a sender who is not a member (migration 0012): each write is by a member.
  const senders = await database.sql<{ conversation_id: string; user_id: string }[]>`
    select distinct on (conversation_id) conversation_id, user_id from members
    where conversation_id = any(${conversationIds}::uuid[]) order by conversation_id, user_id`;
  const senderOf = new Map(senders.map((r) => [r.conversation_id, r.user_id]));
  const started = performance.now();
  for (let done = 0; done < writeMessages; done += writeBatch) {
    const items: PersistItem[] = Array.from({ length: writeBatch }, () => {
      const conversationId = conversationIds[Math.floor(random() * conversationIds.length)]!;
      const length = 3 + Math.floor(random() * 15);
      const body = Array.from({ length }, () => words[Math.floor(words.length ** random()) - 1] ?? "the").join(" ");
      const senderId = senderOf.get(conversationId) ?? "bench-user-1";
      return { id: randomUUID(), conversationId, senderId, senderName: senderId, clientMessageId: randomUUID(), kind: "text", body };
    });
    const t = performance.now();
    const outcomes = await persistBatch(database.sql, items);
    batches.push(performance.now() - t);
    const refused = outcomes.find((o) => !o.ok);
    if (refused) throw new Error(`a measured write was refused: ${JSON.stringify(refused)}`);
  }
  const total = performance.now() - started;
  batches.sort((a, b) => a - b);
  return { usPerMessage: (total * 1000) / writeMessages, batchP99Ms: percentile(batches, 99) };
}

export async function runSearchBench(opts: { messages?: number; command?: string } = {}): Promise<{ results: SearchBenchResults; json: string; markdown: string }> {
  const started = Date.now();
  const n = opts.messages ?? SEARCH_CONFIG.messages;
  const machine = machineInfo();
  const code = codeInfo(ROOT);
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    log(`phase 1: PostgreSQL (fsync on) and a migrated database`);
    const pg: ServerHandle = await startPostgres({ infra: "local", durable: true });
    cleanups.push(() => pg.close());
    const db: TestDatabase = await createDatabase(pg.url, { prefix: "parley_bench_search" });
    cleanups.push(() => db.drop());
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    cleanups.push(() => admin.end({ timeout: 5 }));

    log(`phase 2: seeding ${n.toLocaleString("en-US")} messages`);
    const loadMs = await seed(admin, n);
    log(`  loaded in ${(loadMs / 1000).toFixed(1)} s`);

    const database = openDatabase({ url: db.url, max: 2, applicationName: "parley-bench-search" });
    cleanups.push(() => database.close());
    const writeTargets = (await admin<{ id: string }[]>`select id from bench_conv where c % 97 = 1 limit 200`).map((r) => r.id);
    log(`phase 3: write cost, ${SEARCH_CONFIG.writeRounds} × ${SEARCH_CONFIG.writeMessages.toLocaleString("en-US")} messages through parley_persist_batch without and with the search index, alternating…`);
    await admin`vacuum analyze messages`;
    // Warm-up (plans, caches), not measured. Then rounds without and with the index in turn,
    // so a busy moment on the shared machine does not land on one side only.
    await measureWrites(database, writeTargets, 2_000);
    const rounds: { without: WriteCost[]; with: WriteCost[] } = { without: [], with: [] };
    let indexMs = 0;
    for (let round = 0; round < SEARCH_CONFIG.writeRounds; round++) {
      if (round > 0) await admin`drop index messages_search_idx`;
      rounds.without.push(await measureWrites(database, writeTargets));
      const built = await buildIndex(admin);
      if (round === 0) indexMs = built;
      rounds.with.push(await measureWrites(database, writeTargets));
      log(`  round ${round + 1}: ${rounds.without[round]!.usPerMessage.toFixed(1)} µs/message without, ${rounds.with[round]!.usPerMessage.toFixed(1)} with (index built in ${(built / 1000).toFixed(1)} s)`);
    }
    const mean = (xs: WriteCost[], f: (x: WriteCost) => number) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
    const without = { usPerMessage: mean(rounds.without, (x) => x.usPerMessage), batchP99Ms: mean(rounds.without, (x) => x.batchP99Ms) };
    const withIndex = { usPerMessage: mean(rounds.with, (x) => x.usPerMessage), batchP99Ms: mean(rounds.with, (x) => x.batchP99Ms) };
    log(`  mean: ${without.usPerMessage.toFixed(1)} → ${withIndex.usPerMessage.toFixed(1)} µs/message, batch p99 ${without.batchP99Ms.toFixed(1)} → ${withIndex.batchP99Ms.toFixed(1)} ms`);
    await admin`vacuum analyze messages`;

    const [sizes] = await admin<{ table_mib: number; index_mib: number }[]>`
      select pg_total_relation_size('messages') / 1048576.0 as table_mib, pg_relation_size('messages_search_idx') / 1048576.0 as index_mib`;
    const callerConvs = await admin<{ id: string; n: number }[]>`
      select m.conversation_id as id, count(*)::int as n from messages m
      where m.conversation_id in (select conversation_id from members where user_id = ${CALLER})
      group by m.conversation_id order by n desc`;
    const biggest = callerConvs[0]!;
    const small = callerConvs[Math.floor(callerConvs.length / 2)]!;
    const callerMessages = callerConvs.reduce((s, c) => s + c.n, 0);
    log(`  caller: ${callerConvs.length} conversations, ${callerMessages.toLocaleString("en-US")} messages; biggest ${biggest.n.toLocaleString("en-US")}, median ${small.n}`);

    const words = new Map((await admin<{ rank: number; word: string }[]>`select rank, word from bench_words`).map((r) => [r.rank, r.word]));
    const wordStats = [];
    for (const rank of [1, 2, 10, 100, 1_000, 10_000, 20_000]) {
      const word = words.get(rank)!;
      const [row] = await admin<{ n: number }[]>`
        select count(*)::int as n from messages m
        where to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ to_tsquery('simple', ${word})
          and m.deleted_at is null and m.body is not null`;
      wordStats.push({ rank, word, messages: row!.n });
    }
    log(`  word frequencies: ${wordStats.map((w) => `#${w.rank} "${w.word}" ${w.messages.toLocaleString("en-US")}`).join(", ")}`);

    log("phase 4: query latency");
    const random = prng(42);
    const pick = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
    const make = (count: number, ...ranges: [number, number][]) => Array.from({ length: count }, () => ranges.map(([lo, hi]) => pick(lo, hi)));
    const total = SEARCH_CONFIG.warmupPerClass + SEARCH_CONFIG.runsPerClass;
    const classes: QueryClass[] = [
      { name: "rare word (rank 5,000–20,000)", words: make(total, [5_000, 20_000]), filter: "none" },
      { name: "medium word (rank 100–1,000)", words: make(total, [100, 1_000]), filter: "none" },
      { name: "common word (rank 1–10)", words: make(total, [1, 10]), filter: "none" },
      { name: "two words (common + medium)", words: make(total, [1, 50], [100, 2_000]), filter: "none" },
      { name: "two common words (rank 1–20 and 10–50)", words: make(total, [1, 20], [10, 50]), filter: "none" },
      { name: "three words (common, common, medium)", words: make(total, [1, 20], [20, 100], [100, 1_000]), filter: "none" },
      { name: "common word, biggest conversation", words: make(total, [1, 10]), filter: "biggest" },
      { name: "medium word, biggest conversation", words: make(total, [100, 1_000]), filter: "biggest" },
      { name: "rare word, biggest conversation", words: make(total, [5_000, 20_000]), filter: "biggest" },
      { name: "common word, median conversation", words: make(total, [1, 10]), filter: "small" },
    ];
    const results: ClassResult[] = [];
    const plans: SearchBenchResults["plans"] = [];
    // Round-robin over the classes, so a noisy moment on the shared machine spreads over all of them.
    const times = classes.map(() => [] as number[]);
    const hits = classes.map(() => 0);
    for (let i = 0; i < total; i++) {
      for (const [k, cls] of classes.entries()) {
        const q = cls.words[i]!.map((r) => words.get(r)!).join(" ");
        const conversationId = cls.filter === "biggest" ? biggest.id : cls.filter === "small" ? small.id : undefined;
        const t = performance.now();
        const found = await searchMessages(database.sql, { userId: CALLER, q, conversationId, maxRows: SEARCH_MAX_ROWS_DEFAULT });
        const ms = performance.now() - t;
        if (i >= SEARCH_CONFIG.warmupPerClass) {
          times[k]!.push(ms);
          hits[k]! += found.length;
        }
      }
    }
    for (const [k, cls] of classes.entries()) {
      const sorted = times[k]!.sort((a, b) => a - b);
      const example = cls.words[0]!.map((r) => words.get(r)!).join(" ");
      results.push({
        name: cls.name,
        filter: cls.filter,
        runs: sorted.length,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: sorted[sorted.length - 1]!,
        meanHits: hits[k]! / sorted.length,
        example,
      });
      log(`  ${cls.name.padEnd(40)} p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)}, p99 ${percentile(sorted, 99).toFixed(1)}, max ${sorted[sorted.length - 1]!.toFixed(1)}`);
    }

    // The walk (parley_search_recent, used for very common words) and the index must agree on
    // the newest 200 matches: checked for the ten most common words across the caller's conversations.
    const agreement: SearchBenchResults["agreement"] = [];
    const callerIds = callerConvs.map((c) => c.id);
    for (let rank = 1; rank <= 10; rank++) {
      const word = words.get(rank)!;
      const byIndex = await admin<{ k: string }[]>`
        select m.conversation_id || ':' || m.seq as k from messages m
        where m.conversation_id = any(${callerIds}::uuid[]) and m.deleted_at is null and m.body is not null
          and to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu")) @@ to_tsquery('simple', ${word})
        order by m.created_at desc, m.seq desc limit 200`;
      const walked = await admin<{ k: string }[]>`
        select conversation_id || ':' || seq as k from parley_search_recent(${callerIds}::uuid[], to_tsquery('simple', ${word}), 200)`;
      const a = new Set(byIndex.map((r) => r.k));
      const same = walked.length === byIndex.length && walked.every((r) => a.has(r.k));
      agreement.push({ word, same, matches: byIndex.length });
    }
    log(`  walk and index agree on the newest 200: ${agreement.every((x) => x.same) ? "yes" : "NO"} (${agreement.map((x) => `${x.word}${x.same ? "" : " DIFFERS"}`).join(", ")})`);

    log("  EXPLAIN (ANALYZE, BUFFERS) of one query per class");
    for (const cls of classes) {
      const q = cls.words[0]!.map((r) => words.get(r)!).join(" ");
      const conversationId = cls.filter === "biggest" ? biggest.id : cls.filter === "small" ? small.id : undefined;
      plans.push({ name: cls.name, query: q, plan: await explainSearch(db.url, { userId: CALLER, q, conversationId, maxRows: SEARCH_MAX_ROWS_DEFAULT }) });
    }

    const out: SearchBenchResults = {
      date: new Date().toISOString(),
      command: opts.command ?? "npm run bench -- --only=search",
      machine,
      code,
      config: { ...SEARCH_CONFIG, messages: n },
      seed: {
        messages: n,
        loadMs,
        indexMs,
        tableMiB: Number(sizes!.table_mib),
        indexMiB: Number(sizes!.index_mib),
        callerConversations: callerConvs.length,
        callerMessages,
        biggestConversation: biggest.n,
        smallConversation: small.n,
      },
      wordStats,
      write: {
        withoutIndexUsPerMessage: without.usPerMessage,
        withIndexUsPerMessage: withIndex.usPerMessage,
        withoutIndexBatchP99Ms: without.batchP99Ms,
        withIndexBatchP99Ms: withIndex.batchP99Ms,
      },
      classes: results,
      plans,
      agreement,
      totalSeconds: Math.round((Date.now() - started) / 1000),
    };
    const written = writeSearchResults(out);
    const worst = Math.max(...results.map((r) => r.p99));
    log(`worst p99 ${worst.toFixed(1)} ms (target ≤ ${SEARCH_CONFIG.targetP99Ms} ms); wrote ${written.markdown} and ${written.json}`);
    return { results: out, ...written };
  } finally {
    for (const step of cleanups.reverse()) {
      await step().catch((err: unknown) => log(`cleanup step failed: ${err instanceof Error ? err.message : String(err)}`));
    }
  }
}

/**
 * The plans of exactly what `searchMessages` runs, including the statement inside
 * parley_search: auto_explain on a connection of its own, its LOG lines sent to this client.
 */
async function explainSearch(url: string, input: Parameters<typeof searchMessages>[1]): Promise<string> {
  const notices: string[] = [];
  const conn = postgres(url, { max: 1, onnotice: (n) => notices.push(String(n.message)) });
  try {
    await conn`load 'auto_explain'`;
    for (const setting of ["log_analyze", "log_buffers", "log_nested_statements"]) await conn.unsafe(`set auto_explain.${setting} = on`);
    await conn.unsafe("set auto_explain.log_timing = on");
    await conn.unsafe("set auto_explain.log_min_duration = 0");
    await conn.unsafe("set client_min_messages = log");
    await searchMessages(conn, input);
    // The statements that do the work: the index path's, or the walk's ranking statement and
    // its first per-conversation walk (one of up to a hundred alike).
    const plans = notices.filter((n) => n.includes("plan:")).map((n) => n.replace(/^duration: [\d.]+ ms\s+plan:\n/, ""));
    const picked = [
      plans.find((p) => p.includes("WITH hits AS")),
      plans.find((p) => p.includes("FROM parley_search_recent(")),
      plans.find((p) => p.includes("ORDER BY m.seq DESC")),
    ].filter((p): p is string => p !== undefined);
    return picked.join("\n\n");
  } finally {
    await conn.end({ timeout: 2 });
  }
}

function renderSearchMarkdown(r: SearchBenchResults): string {
  const f = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
  const lines = [
    "## Search: `GET /v1/search` on 1,000,000 messages",
    "",
    `Run ${r.date.slice(0, 16).replace("T", " ")} UTC, \`${r.command}\`, commit ${r.code.commit}${r.code.dirty.length ? " (with uncommitted changes)" : ""}. ` +
      `${r.machine.cores} cores (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, ${r.machine.postgres}, default server settings ` +
      `(shared_buffers 128 MB), fsync on. The machine is shared with other work: numbers are noisy.`,
    "",
    `**Data**: ${r.seed.messages.toLocaleString("en-US")} messages in ${r.config.conversations.toLocaleString("en-US")} conversations ` +
      `(very uneven: the biggest of the caller's holds ${r.seed.biggestConversation.toLocaleString("en-US")}, the median one ${r.seed.smallConversation}), ` +
      `3–17 words each from a ${r.config.vocabulary.toLocaleString("en-US")}-word vocabulary drawn with a Zipf distribution. ` +
      `The caller belongs to ${r.seed.callerConversations} conversations holding ${r.seed.callerMessages.toLocaleString("en-US")} messages. ` +
      `Loaded in ${(r.seed.loadMs / 1000).toFixed(0)} s; the search index built in ${(r.seed.indexMs / 1000).toFixed(0)} s. ` +
      `\`messages\` with its indexes: ${r.seed.tableMiB.toFixed(0)} MiB, of which the search index ${r.seed.indexMiB.toFixed(0)} MiB.`,
    "",
    `Word frequencies (messages containing the word): ${r.wordStats.map((w) => `rank ${w.rank.toLocaleString("en-US")} "${w.word}" ${w.messages.toLocaleString("en-US")}`).join(" · ")}.`,
    "",
    `**Latency** of \`searchMessages\` (libs/db, the gateway's query with message columns and reactions), ${r.config.runsPerClass} queries per class ` +
      `after ${r.config.warmupPerClass} warm-up ones, a different word each time, classes interleaved; target p99 ≤ ${r.config.targetP99Ms} ms:`,
    "",
    "| query class | filter | p50 ms | p95 ms | p99 ms | max ms | hits per answer | example |",
    "|---|---|---:|---:|---:|---:|---:|---|",
    ...r.classes.map((c) => `| ${c.name} | ${c.filter} | ${f(c.p50)} | ${f(c.p95)} | ${f(c.p99)} | ${f(c.max)} | ${c.meanHits.toFixed(1)} | \`${c.example}\` |`),
    "",
    `**Write cost** of the index on the persister's path (${r.config.writeMessages.toLocaleString("en-US")} messages through \`parley_persist_batch\` ` +
      `in batches of ${r.config.writeBatch}, on the seeded table, mean of ${r.config.writeRounds} alternating rounds): ${r.write.withoutIndexUsPerMessage.toFixed(0)} µs/message without the index, ` +
      `${r.write.withIndexUsPerMessage.toFixed(0)} µs/message with it (batch p99 ${f(r.write.withoutIndexBatchP99Ms)} → ${f(r.write.withIndexBatchP99Ms)} ms).`,
    "",
    `**Both paths agree**: for the ten most common words, the walk (\`parley_search_recent\`) and the index found the same newest 200 matches: ` +
      `${r.agreement.every((a) => a.same) ? "yes" : `NO (${r.agreement.filter((a) => !a.same).map((a) => a.word).join(", ")})`}.`,
    "",
    "<details><summary>Plans (EXPLAIN ANALYZE, BUFFERS) of one query per class</summary>",
    "",
    ...r.plans.flatMap((p) => [`**${p.name}**: \`${p.query}\``, "", "```", shortenIds(p.plan), "```", ""]),
    "</details>",
  ];
  return lines.join("\n");
}

/** The caller's conversation ids make plans unreadable: `'{id,id,…}'::uuid[]` becomes a count. */
const shortenIds = (plan: string) =>
  plan.replace(/'\{([0-9a-f-]{36}(?:,[0-9a-f-]{36})*)\}'::uuid\[\]/g, (_m, ids: string) => `'{${ids.split(",").length} conversation ids}'::uuid[]`);

export function writeSearchResults(results: SearchBenchResults): { json: string; markdown: string } {
  const dir = join(ROOT, "bench-results");
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `search-${results.date.replace(/[:.]/g, "-")}.json`);
  writeFileSync(json, JSON.stringify(results, null, 2) + "\n");
  const markdown = join(ROOT, "docs", "benchmarks.md");
  const section = `${START}\n${renderSearchMarkdown(results)}\n${END}`;
  let text = existsSync(markdown) ? readFileSync(markdown, "utf8") : "# Benchmarks\n";
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from !== -1 && to > from) text = text.slice(0, from) + section + text.slice(to + END.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(markdown, text);
  return { json: relative(ROOT, json), markdown: relative(ROOT, markdown) };
}

/** Run on its own: `node tools/bench/dist/search-bench.js [--search-messages=N]`. */
export function searchMessagesArg(argv: string[]): number | undefined {
  const arg = argv.find((a) => a.startsWith("--search-messages="));
  return arg ? Number(arg.split("=")[1]) : undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await runSearchBench({ messages: searchMessagesArg(process.argv), command: `node tools/bench/dist/search-bench.js ${process.argv.slice(2).join(" ")}`.trim() });
  } catch (error) {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
