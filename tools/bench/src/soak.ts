// `npm run soak [-- --minutes=30]`: the whole cluster as processes (the fault suite's harness)
// under a mixed load for a given time — open-loop sends, syncs, typing, reconnects and member
// changes — sampling every process's resident memory and open descriptors. It fails when a
// process grows faster than the stated slopes over the second half of the run (the first half
// is warm-up: caches, pools and JIT filling), and writes soak-results/<stamp>.json and .svg.
// Not part of CI (30 minutes by default); the last result goes in docs/benchmarks.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startPostgres } from "@parley/testkit";
import { startFaultCluster, startLoad, verifyScenario, sleep } from "@parley/testkit/faults";
import { slopePerMinute, soakSvg, type SoakSeries } from "./soak-plot.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const MINUTES = Number(arg("minutes") ?? 30);
const SAMPLE_MS = Number(arg("sample-ms") ?? 10_000);
/** The stated slopes: past these, over the second half, a process is leaking. */
const MAX_RSS_MIB_PER_MIN = 1;
const MAX_FDS_PER_MIN = 1;

const log = (line: string) => process.stdout.write(`soak: ${line}\n`);

async function main(): Promise<void> {
  const pg = await startPostgres({ infra: "local" });
  const cluster = await startFaultCluster({ adminDatabaseUrl: pg.url });
  const load = await startLoad(cluster, { users: 24, conversations: 6, ratePerSecond: 20 });
  const started = Date.now();
  const until = started + MINUTES * 60_000;
  const samples: { min: number; pods: Awaited<ReturnType<typeof cluster.sample>> }[] = [];
  let stop = false;
  const side: Promise<void>[] = [];
  // Typing, syncs (a reconnecting client syncs), reconnects and member changes beside the sends.
  side.push(
    (async () => {
      for (let i = 0; !stop; i++) {
        const c = load.clients[i % load.clients.length]!;
        c.client.conversation(load.conversationIds[i % load.conversationIds.length]!).input();
        await sleep(100);
      }
    })(),
    (async () => {
      for (let i = 0; !stop; i++) {
        // A reconnect: the client's socket ends and it comes back and syncs, as after a network change.
        const c = load.clients[(i * 7) % load.clients.length]!;
        const path = cluster.gateways[i % cluster.gateways.length]!.redisPath;
        if (i % 10 === 9 && path) {
          path.cut();
          await sleep(500);
          path.restore();
        } else c.client.reconnect();
        await sleep(2_000);
      }
    })(),
    (async () => {
      const owner = load.clients[0]!.client;
      for (let i = 0; !stop; i++) {
        const conv = load.conversationIds[i % load.conversationIds.length]!;
        await owner.conversations.addMembers(conv, [`soak-guest-${i % 5}`]).catch(() => {});
        await sleep(1_000);
        await owner.conversations.removeMember(conv, `soak-guest-${i % 5}`).catch(() => {});
        await sleep(1_000);
      }
    })(),
  );
  log(`running ${MINUTES} min; sampling every ${SAMPLE_MS / 1000} s`);
  while (Date.now() < until) {
    samples.push({ min: (Date.now() - started) / 60_000, pods: await cluster.sample() });
    await sleep(SAMPLE_MS);
  }
  stop = true;
  await Promise.all(side);
  const verdict = await verifyScenario("16 soak", cluster, load, { faultAt: started, recoveryBoundMs: 30_000 });
  await load.close();
  await cluster.stop();
  await pg.close();

  const names = [...new Set(samples.flatMap((s) => Object.keys(s.pods)))];
  const series = (field: "rssBytes" | "fds", scale: number): SoakSeries[] =>
    names.map((name) => ({ name, points: samples.filter((s) => s.pods[name]).map((s) => [s.min, s.pods[name]![field] / scale] as [number, number]) }));
  const memory = series("rssBytes", 2 ** 20);
  const fds = series("fds", 1);
  const secondHalf = (points: [number, number][]) => points.filter((p) => p[0] >= MINUTES / 2);
  const slopes = names.map((name, i) => ({
    name,
    rssMiBPerMin: Number(slopePerMinute(secondHalf(memory[i]!.points)).toFixed(3)),
    fdsPerMin: Number(slopePerMinute(secondHalf(fds[i]!.points)).toFixed(3)),
    rssMiBEnd: Math.round(memory[i]!.points.at(-1)?.[1] ?? 0),
    fdsEnd: fds[i]!.points.at(-1)?.[1] ?? 0,
  }));
  const failures = [
    ...verdict.violations,
    ...slopes.filter((s) => s.rssMiBPerMin > MAX_RSS_MIB_PER_MIN).map((s) => `${s.name}: memory grows ${s.rssMiBPerMin} MiB/min (bound ${MAX_RSS_MIB_PER_MIN})`),
    ...slopes.filter((s) => s.fdsPerMin > MAX_FDS_PER_MIN).map((s) => `${s.name}: descriptors grow ${s.fdsPerMin}/min (bound ${MAX_FDS_PER_MIN})`),
  ];
  const dir = join(ROOT, "soak-results");
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(dir, `${stamp}.json`), JSON.stringify({ minutes: MINUTES, bounds: { MAX_RSS_MIB_PER_MIN, MAX_FDS_PER_MIN }, slopes, figures: verdict.figures, failures, samples }, null, 2));
  writeFileSync(join(dir, `${stamp}.svg`), soakSvg(memory, fds));
  for (const s of slopes) log(`${s.name.padEnd(12)} rss ${s.rssMiBEnd} MiB (${s.rssMiBPerMin} MiB/min), fds ${s.fdsEnd} (${s.fdsPerMin}/min)`);
  log(`wrote ${join(dir, `${stamp}.json`)} and .svg`);
  if (failures.length > 0) {
    for (const f of failures) log(`FAIL ${f}`);
    process.exitCode = 1;
  } else log("passed");
}

main().catch((error: unknown) => {
  process.stderr.write(`soak failed to run: ${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
