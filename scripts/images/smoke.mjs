// The smoke test of the built images: each one run with `buildah run` as a pod would run it
// (the image's user and command, a read-only root with only the manifest's volumes writable)
// against the test kit's Redis and Postgres on loopback.
//   1. the migration Job's command from the persister image migrates an empty database;
//   2. in every image the user is not root, and nothing but the manifest's volumes is writable;
//   3. the three services start with the image's own command and answer /readyz;
//   4. a message sent over Socket.IO to the gateway container is acked (the persister container
//      committed it) and is in Postgres;
//   5. SIGTERM makes each service exit 0 within its SHUTDOWN_GRACE_MS.
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import postgres from "postgres";
import { io } from "socket.io-client";
import { SERVICES } from "./build.mjs";
import { manifestContainers, writableMounts } from "./manifests.mjs";

// Short, so a hung drain fails the run quickly; the services' drain scales with it.
const SHUTDOWN_GRACE_MS = 8_000;
const READY_TIMEOUT_MS = 90_000;

/** Polls `url` until it answers 200; resolves false after `timeoutMs`, or as soon as `stopped()` says the process ended. */
async function waitReady(url, { timeoutMs, stopped }) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopped()) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return true;
    } catch {
      // not listening yet: poll again
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** A script run as the image's user that tries to write at every top-level directory and in each writable mount. */
const WRITE_PROBE = `
const fs = require("node:fs");
const writable = JSON.parse(process.argv[1]);
const places = [...fs.readdirSync("/").filter((d) => !["proc", "dev", "sys"].includes(d)).map((d) => "/" + d), "/", process.cwd(), "/home/node"];
const result = { uid: process.getuid(), gid: process.getgid(), wrote: [], refused: [] };
for (const dir of [...new Set([...places, ...writable])]) {
  const file = dir.replace(/\\/$/, "") + "/.smoke-" + process.pid;
  try { fs.writeFileSync(file, "x"); fs.unlinkSync(file); result.wrote.push(dir); }
  catch (e) { result.refused.push(dir + " " + e.code); }
}
process.stdout.write(JSON.stringify(result) + "\\n");
`;

/**
 * Runs every check in `containers` (an ImageContainer per service); `check(name, fn)` records a
 * pass or the failure's message. Resolves when everything started here is stopped again.
 */
export async function smokeTest({ containers, testkit, check, log, logDir }) {
  const manifests = manifestContainers();
  const running = [];
  const [redis, pg] = await Promise.all([testkit.startRedis({ infra: "local" }), testkit.startPostgres({ infra: "local" })]);
  const database = await testkit.createDatabase(pg.url, { prefix: "parley_images", migrate: false });
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    // 1. The migration, as the Job runs it: its command and working directory, from the persister image.
    await check("migration Job's command runs from the persister image", async () => {
      const job = manifests.migrate.container;
      const run = containers.persister.run({
        argv: [...(job.command ?? []), ...(job.args ?? [])],
        workdir: job.workingDir,
        env: { DATABASE_URL: database.url },
        writable: writableMounts(manifests.migrate),
        logFile: join(logDir, "migrate.log"),
      });
      const { code, output } = await run.exited;
      if (code !== 0) throw new Error(`exit ${code}: ${output.trim().split("\n").slice(-5).join(" | ")}`);
      const [row] = await sql`select to_regclass('public.messages') as messages, to_regclass('public.conversations') as conversations`;
      if (!row.messages || !row.conversations) throw new Error("exit 0, but the messages and conversations tables are missing");
    });

    // 2. User and read-only root, in each image.
    for (const service of SERVICES) {
      await check(`${service}: runs as a non-root user with only the manifest's volumes writable`, async () => {
        const writable = writableMounts(manifests[service]);
        const run = containers[service].run({ argv: ["node", "-e", WRITE_PROBE, JSON.stringify(writable)], writable });
        const { code, output } = await run.exited;
        if (code !== 0) throw new Error(`the probe exited ${code}: ${output.trim()}`);
        const result = JSON.parse(output.trim().split("\n").at(-1));
        if (result.uid === 0 || result.gid === 0) throw new Error(`runs as ${result.uid}:${result.gid}`);
        const expected = [...writable].sort();
        if (JSON.stringify([...result.wrote].sort()) !== JSON.stringify(expected)) {
          throw new Error(`wrote to ${result.wrote.join(", ") || "nothing"}; expected exactly ${expected.join(", ")}`);
        }
      });
    }

    // 3. The services, each with the image's command, on free loopback ports.
    const secret = randomBytes(24).toString("base64url");
    const ports = { gateway: await testkit.freePort(), persister: await testkit.freePort(), delivery: await testkit.freePort() };
    const common = {
      NODE_ENV: "production",
      LOG_LEVEL: "info",
      REDIS_URL: redis.url,
      DATABASE_URL: database.url,
      SHUTDOWN_GRACE_MS: String(SHUTDOWN_GRACE_MS),
    };
    const envOf = {
      gateway: { ...common, POD_NAME: "smoke-gateway", PORT: String(ports.gateway), HOST: "127.0.0.1", JWT_SECRET: secret },
      persister: { ...common, POD_NAME: "smoke-persister", METRICS_PORT: String(ports.persister) },
      delivery: { ...common, POD_NAME: "smoke-delivery", METRICS_PORT: String(ports.delivery) },
    };
    const runs = {};
    for (const service of SERVICES) {
      runs[service] = containers[service].run({
        env: envOf[service],
        writable: writableMounts(manifests[service]),
        logFile: join(logDir, `${service}.log`),
      });
      running.push(runs[service]);
    }
    let stoppedEarly = {};
    for (const service of SERVICES) runs[service].exited.then(() => (stoppedEarly[service] = true));
    for (const service of SERVICES) {
      await check(`${service}: answers /readyz (started with the image's command)`, async () => {
        const ok = await waitReady(`http://127.0.0.1:${ports[service]}/readyz`, { timeoutMs: READY_TIMEOUT_MS, stopped: () => stoppedEarly[service] });
        if (!ok) {
          const tail = runs[service].output().trim().split("\n").slice(-5).join(" | ");
          throw new Error(`${stoppedEarly[service] ? "exited" : `no 200 within ${READY_TIMEOUT_MS / 1000} s`}: ${tail}`);
        }
      });
    }

    // 4. One message through the gateway container: acked only after the persister container commits it.
    let socket;
    await check("a message sent through the gateway container is acked and stored", async () => {
      const base = `http://127.0.0.1:${ports.gateway}`;
      const token = await testkit.signToken({ sub: "smoke-alice", name: "Alice", secret });
      const created = await fetch(`${base}/v1/conversations`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ kind: "direct", memberIds: ["smoke-bob"] }),
      });
      if (created.status !== 201) throw new Error(`creating a conversation answered ${created.status}: ${await created.text()}`);
      const { conversation } = await created.json();
      socket = io(base, { auth: { token }, transports: ["websocket"], reconnection: false });
      await new Promise((resolve, reject) => {
        socket.once("session:ready", resolve);
        socket.once("connect_error", reject);
      });
      const clientMessageId = randomUUID();
      const ack = await socket.timeout(10_000).emitWithAck("message:send", { conversationId: conversation.id, clientMessageId, body: "hello from the images" });
      if (!ack.ok) throw new Error(`nacked: ${JSON.stringify(ack.error)}`);
      const rows = await sql`select body, seq from messages where id = ${ack.message.id}`;
      if (rows.length !== 1 || rows[0].body !== "hello from the images") throw new Error(`acked ${ack.message.id}, but Postgres holds ${JSON.stringify(rows)}`);
    });

    // 5. SIGTERM to the node process (what the kubelet's runtime does), with the client still
    //    connected: the gateway must drain it and every service exit 0 within its grace.
    for (const service of SERVICES) {
      await check(`${service}: SIGTERM → exit 0 within SHUTDOWN_GRACE_MS (${SHUTDOWN_GRACE_MS / 1000} s)`, async () => {
        const pid = runs[service].commandPid();
        if (!pid) throw new Error("its node process is not running");
        const started = Date.now();
        process.kill(pid, "SIGTERM");
        const timer = new Promise((resolve) => setTimeout(() => resolve("timeout"), SHUTDOWN_GRACE_MS + 2_000));
        const result = await Promise.race([runs[service].exited, timer]);
        if (result === "timeout") throw new Error(`still running ${(SHUTDOWN_GRACE_MS + 2_000) / 1000} s after SIGTERM`);
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        if (result.code !== 0) throw new Error(`exited ${result.code} after ${seconds} s`);
        log(`  ${service} exited 0 ${seconds} s after SIGTERM`);
      });
    }
    socket?.close();
  } finally {
    for (const run of running) run.kill();
    await sql.end({ timeout: 5 });
    await database.drop().catch((error) => log(`could not drop ${database.name}: ${error.message}`));
    await Promise.allSettled([redis.close(), pg.close()]);
  }
}
