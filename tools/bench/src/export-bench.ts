// The export benchmark (issue 13, point 8): the gateway's memory while it streams
// `GET /v1/me/export` for a user with 100,000 messages.
//
//  1. Postgres and Redis started from the machine's binaries (testkit), a fresh migrated
//     database; 100,000 messages of ~200 characters by one user over 20 conversations,
//     seeded in SQL (generate_series), with a reaction on every tenth.
//  2. One gateway as its own process (`services/gateway/dist/server.js`, as `npm start` runs it).
//  3. Its resident memory (VmRSS from /proc, every 20 ms) at rest (the median of 2 s after a
//     warm-up export of a small user), then while the export streams, twice: a client that
//     reads as fast as it can, and a slow one (it pauses 1 ms per 64 KiB chunk) whose reads
//     hold the database cursor back (the stream's backpressure).
//  4. The peak rise over the rest level per run, the export's duration and lines/s; the
//     export's `end` line is checked against the seeded counts. Printed, and written to
//     bench-results/export-<stamp>.json.
//
// `npm run bench:export -w @parley/bench` (builds nothing: run `npm run build` first), or
// `node tools/bench/dist/export-bench.js --export-messages=N [--gateway-node-options=--max-semi-space-size=1]`.
import { readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { createDatabase, freePort, signToken, spawnService, startPostgres, startRedis } from "@parley/testkit";
import { codeInfo, machineInfo } from "./report.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "../../..");
const SECRET = "export-bench-secret-0123456789abcdef";
const USER = "bench-exporter";
const log = (line: string) => process.stdout.write(`[export ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

export interface ExportRun {
  reader: "fast" | "slow";
  durationMs: number;
  lines: number;
  bytes: number;
  restRssMiB: number;
  peakRssMiB: number;
  riseMiB: number;
}

const rssMiB = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
};

function sampler(pid: number) {
  const samples: number[] = [];
  const timer = setInterval(() => {
    try {
      samples.push(rssMiB(pid));
    } catch {
      // The process is gone: the export's own request fails and says why.
      clearInterval(timer);
    }
  }, 20);
  return {
    samples,
    stop: () => clearInterval(timer),
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function exportOnce(url: string, token: string, slow: boolean): Promise<{ lines: number; bytes: number; end: unknown }> {
  const res = await fetch(`${url}/v1/me/export`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200 || !res.body) throw new Error(`export answered ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let lines = 0;
  let bytes = 0;
  let tail = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    bytes += value.byteLength;
    const text = tail + decoder.decode(value, { stream: true });
    const parts = text.split("\n");
    tail = parts.pop() ?? "";
    lines += parts.length;
    if (parts.length > 0) {
      const last = parts[parts.length - 1]!;
      if (last.startsWith('{"type":"end"')) return { lines, bytes, end: JSON.parse(last) };
    }
    if (slow) await new Promise((r) => setTimeout(r, 1));
  }
  return { lines, bytes, end: tail ? JSON.parse(tail) : undefined };
}

/**
 * `nodeOptions`: the gateway's NODE_OPTIONS, e.g. `--max-semi-space-size=1` to tell the heap's
 * young generation growing to its cap (allocation room V8 keeps, whatever is streamed) from
 * memory the export holds (decision 0067).
 */
export async function runExportBench(opts: { messages?: number; nodeOptions?: string } = {}) {
  const messages = opts.messages ?? 100_000;
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    cleanups.push(() => pg.close(), () => redis.close());
    const db = await createDatabase(pg.url, { prefix: "parley_bench_export" });
    cleanups.unshift(() => db.drop());
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    cleanups.unshift(() => sql.end({ timeout: 5 }));
    log(`seeding ${messages} messages`);
    await sql`insert into users (id, display_name) values (${USER}, 'Bench Exporter'), ('small', 'Small')`;
    await sql`
      insert into conversations (id, kind, created_by, last_seq)
      select gen_random_uuid(), 'group', ${USER}, 0 from generate_series(1, 20)`;
    await sql`insert into members (conversation_id, user_id, role) select id, ${USER}, 'owner' from conversations`;
    await sql`
      with c as (select id, row_number() over (order by id) - 1 as k from conversations)
      insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, created_at)
      select gen_random_uuid(), c.id, (s / 20) + 1, ${USER}, gen_random_uuid(), 'text',
             left(repeat(md5(s::text) || ' ', 7), 200), now() - make_interval(secs => ${messages} - s)
      from generate_series(0, ${messages} - 1) s join c on c.k = s % 20`;
    await sql`update conversations c set last_seq = (select max(seq) from messages m where m.conversation_id = c.id)`;
    // What the commit function writes beside each message (migration 0013): its dedupe key and its id.
    await sql`insert into message_keys (sender_id, client_message_id, conversation_id, seq) select sender_id, client_message_id, conversation_id, seq from messages`;
    await sql`insert into message_ids (id, conversation_id, seq) select id, conversation_id, seq from messages`;
    await sql`insert into reactions (conversation_id, message_id, user_id, emoji) select conversation_id, id, ${USER}, '👍' from messages where seq % 10 = 0`;
    await sql`analyze`;

    const port = await freePort();
    const gateway = spawnService("gateway", {
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      JWT_SECRET: SECRET,
      LOG_LEVEL: "warn",
      RATE_LIMIT_READS_PER_SECOND: "1000",
      RATE_LIMIT_READS_BURST: "1000",
      ...(opts.nodeOptions ? { NODE_OPTIONS: opts.nodeOptions } : {}),
    }, { echoStderr: true });
    cleanups.unshift(async () => {
      gateway.child.kill("SIGTERM");
      await gateway.exited;
    });
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      if ((await fetch(`${url}/readyz`).then((r) => r.status, () => 0)) === 200) break;
      if (i > 300) throw new Error("the gateway did not get ready");
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = gateway.child.pid!;
    const token = await signToken({ sub: USER, secret: SECRET, expiresInSeconds: 3600 });
    // Warm-up: every module loaded, the pool's connection open, the JIT warm.
    await exportOnce(url, await signToken({ sub: "small", secret: SECRET }), false);
    await new Promise((r) => setTimeout(r, 2_000));

    const runs: ExportRun[] = [];
    for (const reader of ["fast", "slow"] as const) {
      const rest = sampler(pid);
      await new Promise((r) => setTimeout(r, 2_000));
      rest.stop();
      const during = sampler(pid);
      const started = performance.now();
      const { lines, bytes, end } = await exportOnce(url, token, reader === "slow");
      const durationMs = performance.now() - started;
      during.stop();
      const counts = (end as { counts?: Record<string, number> } | undefined)?.counts;
      if (counts?.message !== messages) throw new Error(`the export's end line says ${JSON.stringify(counts)}, expected ${messages} messages`);
      const restRssMiB = median(rest.samples);
      const peakRssMiB = Math.max(...during.samples, restRssMiB);
      runs.push({ reader, durationMs: Math.round(durationMs), lines, bytes, restRssMiB: round(restRssMiB), peakRssMiB: round(peakRssMiB), riseMiB: round(peakRssMiB - restRssMiB) });
      log(`${reader} reader: ${lines} lines, ${(bytes / 1048576).toFixed(1)} MiB in ${Math.round(durationMs)} ms; RSS at rest ${round(restRssMiB)} MiB, peak ${round(peakRssMiB)} MiB (+${round(peakRssMiB - restRssMiB)} MiB)`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const results = { date: new Date().toISOString(), messages, nodeOptions: opts.nodeOptions ?? "", machine: machineInfo(), code: codeInfo(ROOT), runs };
    const dir = join(ROOT, "bench-results");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `export-${results.date.replaceAll(":", "-")}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${file}`);
    return results;
  } finally {
    for (const c of cleanups) await c().catch(() => {});
  }
}

const round = (x: number) => Math.round(x * 10) / 10;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = process.argv.find((a) => a.startsWith("--export-messages="));
  const nodeOptions = process.argv.find((a) => a.startsWith("--gateway-node-options="))?.slice("--gateway-node-options=".length);
  try {
    await runExportBench({ messages: arg ? Number(arg.split("=")[1]) : undefined, nodeOptions });
  } catch (error) {
    log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  }
}
