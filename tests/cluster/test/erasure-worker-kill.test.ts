import { randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_KEYSPACE, JobCatalog } from "@parley/bus";
import { createDatabase as openDatabase, type Database } from "@parley/db";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { createDatabase, freePort, spawnService, startRedis, type ServerHandle, type SpawnedService, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";

// An erasure whose worker is killed (SIGKILL) mid-way: another delivery process takes the job
// over once its lock lapses (ERASURE_LOCK_MS) and finishes it from the saved progress. Real
// processes, as `npm start -w services/delivery` runs them, against a Redis of this file's own.
const MESSAGES = 4_000;

let redisServer: ServerHandle;
let db: TestDatabase;
let database: Database;
let redis: Redis;
let queue: Queue;
const children: SpawnedService[] = [];

beforeAll(async () => {
  [redisServer, db] = await Promise.all([startRedis({ infra: "local" }), createDatabase(testInfra().databaseUrl)]);
  database = openDatabase({ url: db.url, max: 2 });
  redis = createRedis({ url: redisServer.url, name: "erasure-kill-test", role: "consumer" });
  await waitForReady(redis);
  queue = new Queue("erasure", { connection: redis, prefix: DEFAULT_KEYSPACE.queuePrefix });
}, 60_000);
afterAll(async () => {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill("SIGKILL");
  await Promise.allSettled(children.map((c) => c.exited));
  await queue?.close();
  await redis?.quit();
  await database?.close();
  await db?.drop();
  await redisServer?.close();
});

async function startDelivery(pod: string): Promise<SpawnedService> {
  const port = await freePort();
  const spawned = spawnService(
    "delivery",
    { DATABASE_URL: db.url, REDIS_URL: redisServer.url, METRICS_PORT: String(port), POD_NAME: pod, ERASURE_BATCH_SIZE: "5", ERASURE_LOCK_MS: "1500" },
    { echoStderr: true },
  );
  children.push(spawned);
  await until(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200, `${pod} ready`);
  return spawned;
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000, everyMs = 20) {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(check).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const progressOf = async (id: string) => ((await queue.getJob(id))?.progress ?? {}) as { phase?: string; messages?: number };

it("an erasure survives its worker killed mid-way: another process finishes it, and none of the user's text is left", async () => {
  // The user's history, seeded in SQL: one conversation, MESSAGES messages with reactions.
  const conversationId = randomUUID();
  const { sql } = database;
  await sql`insert into users (id, display_name) values ('ivy', 'Ivy Hiddenname'), ('jon', 'Jon')`;
  await sql`insert into conversations (id, kind, created_by, last_seq) values (${conversationId}, 'group', 'ivy', ${MESSAGES})`;
  await sql`insert into members (conversation_id, user_id, role) values (${conversationId}, 'ivy', 'owner'), (${conversationId}, 'jon', 'member')`;
  await sql`
    insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, body_digest)
    select gen_random_uuid(), ${conversationId}, s, 'ivy', gen_random_uuid(), 'text', 'ivyprivate ' || s, '\\x00'::bytea
    from generate_series(1, ${MESSAGES}) s`;
  // What the commit function writes beside each message (migration 0013): its dedupe key and its id.
  await sql`insert into message_keys (sender_id, client_message_id, conversation_id, seq) select sender_id, client_message_id, conversation_id, seq from messages where conversation_id = ${conversationId}`;
  await sql`insert into message_ids (id, conversation_id, seq) select id, conversation_id, seq from messages where conversation_id = ${conversationId}`;
  await sql`insert into reactions (conversation_id, message_id, user_id, emoji) select conversation_id, id, 'jon', '👍' from messages where conversation_id = ${conversationId} and seq % 10 = 0`;

  const doomed = await startDelivery("delivery-doomed");
  const jobId = `erasure-${randomUUID()}`;
  await queue.add("erasure", { userId: "ivy", requestedBy: "root" }, { ...JobCatalog.erasure.options, jobId });
  // Killed while it is tombstoning messages, well before the end.
  await until(async () => ((await progressOf(jobId)).messages ?? 0) >= 100, "the erasure to be under way", 30_000, 5);
  doomed.child.kill("SIGKILL");
  await doomed.exited;
  const atKill = await progressOf(jobId);
  expect(atKill.phase).toBe("messages");
  expect(atKill.messages!).toBeLessThan(MESSAGES);
  const [half] = await sql<{ n: number }[]>`select count(*)::int as n from messages where sender_id = 'ivy' and body is not null`;
  expect(half!.n).toBeGreaterThan(0);

  await startDelivery("delivery-heir");
  await until(async () => (await queue.getJob(jobId))?.finishedOn !== undefined, "the heir to finish the erasure");
  const job = (await queue.getJob(jobId))!;
  expect(await job.getState()).toBe("completed");
  // It went on from the saved progress: the heir's count starts where the doomed worker's ended.
  expect((job.progress as { phase: string; messages: number }).phase).toBe("done");
  expect((job.progress as { messages: number }).messages).toBeGreaterThanOrEqual(MESSAGES);
  expect((job.progress as { messages: number }).messages).toBeLessThan(MESSAGES + 2 * 5);

  const [left] = await sql<{ texts: number; reactions: number; members: number; name: string; seqs: number; maxSeq: number }[]>`
    select (select count(*)::int from messages where sender_id = 'ivy' and (body is not null or body_digest is not null or deleted_at is null)) as texts,
           (select count(*)::int from reactions r join messages m on m.conversation_id = r.conversation_id and m.id = r.message_id where m.sender_id = 'ivy') as reactions,
           (select count(*)::int from members where user_id = 'ivy') as members,
           (select display_name from users where id = 'ivy') as name,
           (select count(*)::int from messages where conversation_id = ${conversationId}) as seqs,
           (select max(seq)::int from messages where conversation_id = ${conversationId}) as "maxSeq"`;
  expect(left).toEqual({ texts: 0, reactions: 0, members: 0, name: "Deleted user", seqs: MESSAGES, maxSeq: MESSAGES });
  const dump = JSON.stringify(await sql`select (select json_agg(m) from messages m) as m, (select json_agg(u) from users u) as u`);
  expect(dump).not.toContain("ivyprivate");
  expect(dump).not.toContain("Hiddenname");
}, 90_000);
