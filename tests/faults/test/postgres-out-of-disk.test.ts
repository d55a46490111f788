import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, openSync, closeSync, rmSync, statfsSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { expect, it } from "vitest";
import { chownTree, postgresServiceUser } from "@parley/testkit";
import { podMetric, runScenario, sleep } from "@parley/testkit/faults";
import { testInfra } from "@parley/testkit/vitest";

const DISK_MB = 64;
const FULL_MS = 6_000;

/** Writes zeros into `path` until the filesystem has no room left (ENOSPC ends it). */
function fillUp(path: string): number {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(256 * 1024);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    closeSync(fd);
  }
  return written;
}

// Scenario 11: Postgres runs out of disk. The cluster's database is moved, tables and indexes, to
// a tablespace on a 64 MB tmpfs, which a filler file then fills for 6 s under load (WAL stays on
// the data directory, as it does when only a data volume fills; the tables' fillfactor is set
// to 10 so that new rows need new pages at once). Postgres refuses to extend a
// table (53100 disk_full): the persister classes that as an outage and retries with backoff
// holding its read gate (nothing is dead-lettered), the gateways answer the waiting senders
// UNAVAILABLE, the SDK resends the same clientMessageId. Nothing is half-written: every stored
// message has its key and id rows, and every conversation's last_seq is its highest seq. Once
// the filler goes, sends are acked again, with no restart.
//
// The tmpfs needs root with CAP_SYS_ADMIN, as on this project's test machines (no Docker).
it("Postgres out of disk: sends wait and are answered UNAVAILABLE, nothing half-written, recovery once space frees", async () => {
  const dir = mkdtempSync(join(tmpdir(), "parley-small-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${DISK_MB}m`, "tmpfs", dir], { stdio: "pipe" });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`scenario 11 needs a small tmpfs for Postgres to fill (mount -t tmpfs, as root with CAP_SYS_ADMIN): ${String(err)}`);
  }
  const admin = postgres(testInfra().databaseUrl, { max: 1, onnotice: () => {} });
  const tablespace = `fault_small_${process.pid}`;
  const figures: Record<string, number> = {};
  try {
    chownTree(dir, postgresServiceUser());
    await admin.unsafe(`create tablespace ${tablespace} location '${dir}'`);
    const verdict = await runScenario(
      "11 Postgres out of disk",
      testInfra().databaseUrl,
      { cluster: {}, recoveryBoundMs: 20_000, afterMs: 5_000 },
      async ({ cluster, load }) => {
        const sql = postgres(cluster.database.url, { max: 1, onnotice: () => {} });
        try {
          await sql.unsafe(`alter table all in tablespace pg_default set tablespace ${tablespace}`);
          await sql.unsafe(`alter index all in tablespace pg_default set tablespace ${tablespace}`);
          // New rows then need new pages at once (a full disk shows when a table must grow;
          // the pages' free room would otherwise take this load's small messages for a while).
          const tables = await sql<{ name: string }[]>`select c.oid::regclass::text as name from pg_class c where c.relkind = 'r' and c.relnamespace = 'public'::regnamespace`;
          for (const t of tables) await sql.unsafe(`alter table ${t.name} set (fillfactor = 10)`);
          const persister = cluster.persister.process.url;
          const transientBefore = await podMetric(persister, "parley_persist_entries_failed_total", 'reason="transient"');
          const filler = join(dir, "filler");
          figures.fillerMiB = Math.round(fillUp(filler) / 2 ** 20);
          figures.freeWhileFullKiB = Math.round((statfsSync(dir).bavail * statfsSync(dir).bsize) / 1024);
          // A send while the disk is full: queued, not committed in time, answered UNAVAILABLE.
          const probeId = randomUUID();
          const send = async () => {
            const res = await fetch(`${cluster.gateways[0]!.process.url}/v1/conversations/${load.conversationIds[1]}/messages`, {
              method: "POST",
              headers: { authorization: `Bearer ${await cluster.token(load.clients[1]!.userId)}`, "content-type": "application/json" },
              body: JSON.stringify({ clientMessageId: probeId, body: "sent while the disk was full" }),
            });
            return { status: res.status, body: (await res.json()) as { error?: { code?: string }; message?: { seq: number } } };
          };
          await sleep(1_000);
          const whileFull = await send();
          await sleep(FULL_MS - 1_000);
          figures.transientFailures = (await podMetric(persister, "parley_persist_entries_failed_total", 'reason="transient"')) - transientBefore;
          rmSync(filler);
          const freedAt = Date.now();
          await sleep(2_000);
          // Nothing half-written, read in one snapshot: each message has its key and id rows, and
          // each conversation's last_seq is its highest seq (no number handed out without its row).
          const [check] = await sql<{ messages: number; keys: number; ids: number; behind: number }[]>`
            select (select count(*)::int from messages) as messages,
                   (select count(*)::int from message_keys) as keys,
                   (select count(*)::int from message_ids) as ids,
                   (select count(*)::int from conversations c
                     where c.last_seq <> coalesce((select max(m.seq) from messages m where m.conversation_id = c.id), 0)) as behind`;
          figures.messagesAfter = check!.messages;
          expect(check!.keys).toBe(check!.messages);
          expect(check!.ids).toBe(check!.messages);
          expect(check!.behind).toBe(0);
          expect([whileFull.status, whileFull.body.error?.code]).toEqual([503, "UNAVAILABLE"]);
          // Its retries, once there is room, as the SDK makes them: answered with the message, stored once.
          let again = await send();
          for (const until = Date.now() + 15_000; again.status === 503 && Date.now() < until; again = await send()) await sleep(500);
          figures.probeStoredAfterFreeMs = Date.now() - freedAt;
          expect(again.status).toBe(201);
          const stored = await sql`select seq::int as seq from messages where client_message_id = ${probeId}`;
          expect(stored.map((r) => r.seq)).toEqual([again.body.message!.seq]);
        } finally {
          await sql.end({ timeout: 5 });
        }
      },
    );
    process.stdout.write(`fault-suite 11 out of disk: ${JSON.stringify({ ...verdict.figures, ...figures })}\n`);
    expect(verdict.violations).toEqual([]);
    expect(figures.transientFailures).toBeGreaterThan(0);
  } finally {
    await admin.unsafe(`drop tablespace if exists ${tablespace}`).catch((err: unknown) => process.stdout.write(`dropping ${tablespace}: ${String(err)}\n`));
    await admin.end({ timeout: 5 });
    try {
      execFileSync("umount", ["-l", dir], { stdio: "pipe" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
