#!/usr/bin/env node
// `npm start`: the whole Parley cluster on this machine, from a fresh clone.
//
//   1. install + build (ensure-built);
//   2. Redis and PostgreSQL: REDIS_URL / DATABASE_URL when set, else containers when a
//      Docker engine answers, else local binaries (installed with apt-get when missing and
//      possible) with their data in .data/ (kept across runs), ports 6390 / 5440 or the next free;
//      `--redis=cluster` runs a local Redis Cluster (3 masters + 3 replicas) instead, and
//      `--redis=sentinel` a master, a replica and 3 Sentinels (local binaries, nothing kept);
//   3. database `parley` created when missing, migrations applied;
//   4. two gateways (:3000, :3001), the persister (metrics :9101) and delivery (:9102) as
//      child processes, their logs interleaved and prettified, and the web chat's development
//      server (examples/web: the built app and its dev sign-in, :8080 or the next free port);
//   5. Ctrl-C / SIGTERM: SIGTERM to every service, wait for them to drain, then stop the
//      databases. A second Ctrl-C kills at once.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { createInterface } from "node:readline";
import { jwtSecret } from "./dev-config.mjs";
import { ensureBuilt } from "./ensure-built.mjs";
import { formatLine, prefixer } from "./log-format.mjs";
import { ROOT, bold, cyan, green, red, step, yellow } from "./lib.mjs";

const args = process.argv.slice(2);
const flag = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
// --services-root=DIR runs DIR/<service>/dist/server.js instead of the repo's services
// (for trying this script against stand-ins); --skip-build skips step 1.
const SERVICES_ROOT = flag("services-root") ?? join(ROOT, "services");
const SKIP_BUILD = args.includes("--skip-build");
// --redis=single (default) | cluster | sentinel: the Redis topology the services are given.
const REDIS_TOPOLOGY = flag("redis") ?? "single";
if (!["single", "cluster", "sentinel"].includes(REDIS_TOPOLOGY)) {
  process.stderr.write(`--redis=${REDIS_TOPOLOGY}: expected single, cluster or sentinel\n`);
  process.exit(2);
}
const GRACE_MS = Number(process.env.SHUTDOWN_GRACE_MS ?? 25_000) + 10_000;

const SERVICES = [
  { name: "gateway-1", service: "gateway", env: { PORT: "3000", POD_NAME: "gateway-1" }, readyz: "http://127.0.0.1:3000/readyz" },
  { name: "gateway-2", service: "gateway", env: { PORT: "3001", POD_NAME: "gateway-2" }, readyz: "http://127.0.0.1:3001/readyz" },
  { name: "persister", service: "persister", env: { METRICS_PORT: "9101", POD_NAME: "persister" }, readyz: "http://127.0.0.1:9101/readyz" },
  { name: "delivery", service: "delivery", env: { METRICS_PORT: "9102", POD_NAME: "delivery" }, readyz: "http://127.0.0.1:9102/readyz" },
];

const servers = []; // Redis / PostgreSQL handles we started, stopped last
const children = new Map(); // name -> { child, exited: Promise<{code, signal}> }
let shuttingDown = false;

function fail(message) {
  process.stderr.write(`${red("✗")} ${message}\n`);
  process.exitCode = 1;
}

/** The data dir for local PostgreSQL: .data/postgres, unless the server's OS user cannot reach it. */
function postgresDataDir(testkit) {
  const preferred = join(ROOT, ".data", "postgres");
  mkdirSync(preferred, { recursive: true });
  const user = testkit.postgresServiceUser();
  testkit.chownTree(preferred, user); // as root the server runs as `postgres`, which must own its data
  if (testkit.canUserWrite(preferred, user)) return preferred;
  // e.g. a checkout under /root (mode 700): the `postgres` user cannot enter it.
  const hash = createHash("sha256").update(ROOT).digest("hex").slice(0, 8);
  const fallback = join(tmpdir(), `parley-data-${hash}`, "postgres");
  mkdirSync(fallback, { recursive: true });
  step(yellow(`user ${user.name} cannot write ${preferred}; keeping PostgreSQL data in ${fallback}`));
  return fallback;
}

async function infrastructure() {
  const testkit = await import("@parley/testkit");
  let redisUrl = process.env.REDIS_URL;
  let adminUrl;
  let databaseUrl = process.env.DATABASE_URL;
  const topology = REDIS_TOPOLOGY !== "single";
  if (topology && (redisUrl || process.env.REDIS_CLUSTER_NODES || process.env.REDIS_SENTINELS)) {
    throw new Error(`--redis=${REDIS_TOPOLOGY} starts its own Redis: unset REDIS_URL / REDIS_CLUSTER_NODES / REDIS_SENTINELS, or leave --redis out`);
  }
  const docker = !((redisUrl || topology) && databaseUrl) && (await testkit.dockerAvailable());
  if (topology || (!docker && !(redisUrl && databaseUrl))) testkit.ensureServerBinaries({ log: step });

  let redisEnv = { REDIS_URL: redisUrl };
  let redisDescription = redisUrl ? "REDIS_URL from your environment" : "";
  if (topology) {
    // From the local binaries even when Docker answers: a cluster's nodes announce their own
    // addresses, which must be the ones the services reach. Nothing is kept across runs.
    step(`starting a local Redis ${REDIS_TOPOLOGY === "cluster" ? "Cluster (3 masters, 3 replicas)" : "with Sentinel (1 master, 1 replica, 3 Sentinels)"}…`);
    const redis = await (REDIS_TOPOLOGY === "cluster" ? testkit.startRedisCluster({ detached: true }) : testkit.startRedisSentinel({ detached: true }));
    servers.push(redis);
    redisEnv = redis.env;
    // PERSIST_PARTITIONS is left to the services' default: 8 on a cluster, 1 with Sentinel.
    redisDescription = `${redis.description}${REDIS_TOPOLOGY === "cluster" ? "; the persist path in 8 partitions (PERSIST_PARTITIONS' cluster default)" : ""}`;
    step(redisDescription);
  } else if (redisUrl) step(`Redis: REDIS_URL`);
  else {
    const redis = docker
      ? await testkit.startRedis({ infra: "docker" })
      : await testkit.startRedis({
          infra: "local",
          dir: join(ROOT, ".data", "redis"),
          port: await testkit.portFrom(6390),
          persist: true,
          detached: true,
        });
    servers.push(redis);
    redisUrl = redis.url;
    redisEnv = { REDIS_URL: redisUrl };
    redisDescription = `one server at ${redisUrl}`;
    step(`Redis ${redis.kind === "docker" ? "container" : "(local, data in .data/redis)"} at ${redisUrl}`);
  }

  if (databaseUrl) step(`PostgreSQL: DATABASE_URL`);
  else {
    const dataDir = docker ? "" : postgresDataDir(testkit);
    const pg = docker
      ? await testkit.startPostgres({ infra: "docker", durable: true })
      : await testkit.startPostgres({
          infra: "local",
          dataDir,
          port: await testkit.portFrom(5440),
          durable: true,
          detached: true,
          maxConnections: 200,
        });
    servers.push(pg);
    adminUrl = pg.url;
    const url = new URL(pg.url);
    url.pathname = "/parley";
    databaseUrl = url.toString();
    step(`PostgreSQL ${pg.kind === "docker" ? "container" : `(local, data in ${relative(ROOT, dataDir) || dataDir})`} at ${databaseUrl}`);
  }

  const postgres = (await import("postgres")).default;
  if (adminUrl) {
    const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      const [found] = await sql`select 1 as found from pg_database where datname = 'parley'`;
      if (!found) {
        await sql.unsafe(`create database parley`);
        step("created database parley");
      }
    } finally {
      await sql.end({ timeout: 2 });
    }
  }
  step("applying migrations…");
  const { runMigrations } = await import("@parley/db");
  await runMigrations(databaseUrl);
  return { redisEnv, redisDescription, databaseUrl };
}

/** The web chat (examples/web): the built page and its development sign-in, on 127.0.0.1 only. */
function webSpec(port) {
  return {
    name: "web",
    entry: { dir: join(ROOT, "examples", "web"), main: "dist/server/serve.js" },
    args: ["--port", String(port), "--host", "127.0.0.1", "--gateways", "http://localhost:3000,http://localhost:3001"],
    env: {},
    readyz: `http://127.0.0.1:${port}/healthz`,
    url: `http://127.0.0.1:${port}/`,
  };
}

function serviceEntry(service) {
  const dir = join(SERVICES_ROOT, service);
  let main = "dist/server.js";
  try {
    const start = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).scripts?.start ?? "";
    main = /node\s+(\S+\.m?js)/.exec(start)?.[1] ?? main;
  } catch {
    // no package.json (a stand-in): dist/server.js
  }
  return { dir, main };
}

function startService(spec, index, width, env) {
  const { dir, main } = spec.entry ?? serviceEntry(spec.service);
  if (!existsSync(join(dir, main))) {
    fail(`${spec.name}: ${join(dir, main)} does not exist (did the build of ${spec.service} fail?)`);
    return;
  }
  const prefix = prefixer(spec.name, index, width);
  // detached: a Ctrl-C in the terminal reaches only us; we then send SIGTERM so each
  // service drains instead of dying mid-request.
  const child = spawn(process.execPath, [main, ...(spec.args ?? [])], {
    cwd: dir,
    env: { ...env, ...spec.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
      process.stdout.write(`${prefix(formatLine(line))}\n`);
    });
  }
  const exited = new Promise((resolve) => {
    child.once("error", (error) => {
      process.stdout.write(`${prefix(red(`could not start: ${error.message}`))}\n`);
      resolve({ code: 1, signal: null });
    });
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  children.set(spec.name, { child, exited, prefix });
  void exited.then(({ code, signal }) => {
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (shuttingDown) {
      process.stdout.write(`${prefix(code === 0 ? green(`stopped (${how})`) : red(`stopped with ${how}`))}\n`);
    } else {
      process.stdout.write(`${prefix(red(bold(`✗ CRASHED: exited with ${how}; the rest keep running (Ctrl-C to stop)`)))}\n`);
      process.exitCode = 1;
      if ([...children.values()].every((c) => c.child.exitCode !== null || c.child.signalCode !== null)) {
        void shutdown("all services exited");
      }
    }
  });
}

async function waitReady(specs, timeoutMs = 45_000) {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(specs.filter((s) => children.has(s.name)).map((s) => s.name));
  while (pending.size > 0 && Date.now() < deadline && !shuttingDown) {
    for (const spec of specs) {
      if (!pending.has(spec.name)) continue;
      const res = await fetch(spec.readyz, { signal: AbortSignal.timeout(1_000) }).catch(() => undefined);
      if (res?.ok) pending.delete(spec.name);
    }
    if (pending.size) await new Promise((resolve) => setTimeout(resolve, 300));
  }
  return [...pending];
}

async function shutdown(reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  step(`${reason}: stopping services (SIGTERM, they drain first)…`);
  // Services first, databases last: a draining service still needs Redis and PostgreSQL
  // to finish its in-flight work.
  for (const { child } of children.values()) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  }
  const killer = setTimeout(() => {
    step(red(`services still running after ${GRACE_MS / 1000} s: killing them`));
    for (const { child } of children.values()) child.kill("SIGKILL");
  }, GRACE_MS);
  const results = await Promise.all([...children.values()].map((c) => c.exited));
  clearTimeout(killer);
  if (results.some((r) => r.code !== 0)) process.exitCode = 1;
  if (servers.length) step("stopping Redis and PostgreSQL…");
  const closed = await Promise.allSettled(servers.map((server) => server.close()));
  for (const result of closed) if (result.status === "rejected") fail(`stopping a database failed: ${result.reason}`);
  step(process.exitCode ? yellow("stopped (see above)") : green("stopped cleanly"));
  process.exit(process.exitCode ?? 0);
}

function banner(notReady, web, secret, redisDescription) {
  const line = "─".repeat(66);
  const lines = [
    "",
    cyan(line),
    bold("  Parley is running"),
    "",
    `  gateways     http://localhost:3000   http://localhost:3001`,
    `               (Socket.IO + HTTP API; /healthz /readyz /metrics)`,
    ...(web ? [`  web chat     ${web.url}   (sign in as any user id; ?gateway=http://localhost:3001 picks a gateway)`] : []),
    `  redis        ${redisDescription}`,
    `  metrics      http://localhost:9101/metrics (persister)`,
    `               http://localhost:9102/metrics (delivery)`,
    "",
    `  a token      npm run token -- alice "Alice"`,
    `  try it       npm run chat            (alice on :3000, bob on :3001)`,
    `               npm run chat -- --demo  (scripted, exits by itself)`,
    "",
    process.env.JWT_SECRET ? `  JWT_SECRET   from your environment` : yellow(`  JWT_SECRET   "${secret}" (dev only, never for production)`),
    `  stop         Ctrl-C`,
    ...(notReady.length ? ["", red(`  not ready yet: ${notReady.join(", ")} (see their logs above)`)] : []),
    cyan(line),
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function main() {
  let interrupted = 0;
  for (const signal of ["SIGINT", "SIGTERM"]) {
    process.on(signal, () => {
      interrupted += 1;
      if (interrupted > 1) {
        step(red("second signal: killing everything now"));
        for (const { child } of children.values()) child.kill("SIGKILL");
        for (const server of servers) void server.close();
        setTimeout(() => process.exit(1), 3_000).unref();
        return;
      }
      void shutdown(signal);
    });
  }
  // Detached services do not die with us: if this script itself fails, take them along.
  process.once("exit", () => {
    for (const { child } of children.values()) if (child.exitCode === null) child.kill("SIGKILL");
  });

  if (!SKIP_BUILD) await ensureBuilt();
  const { redisEnv, redisDescription, databaseUrl } = await infrastructure();
  if (shuttingDown) return;

  const secret = await jwtSecret();
  const env = {
    ...process.env,
    ...redisEnv,
    DATABASE_URL: databaseUrl,
    JWT_SECRET: secret,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
    NODE_ENV: "development",
    CORS_ORIGINS: process.env.CORS_ORIGINS ?? "*",
  };
  // The web chat only with the repository's own services (not with --services-root stand-ins).
  const testkit = await import("@parley/testkit");
  const web = SERVICES_ROOT === join(ROOT, "services") ? webSpec(await testkit.portFrom(8080)) : undefined;
  const specs = web ? [...SERVICES, web] : SERVICES;
  const width = Math.max(...specs.map((s) => s.name.length));
  step(`starting ${specs.map((s) => s.name).join(", ")}…`);
  specs.forEach((spec, index) => startService(spec, index, width, env));
  if (children.size === 0) {
    await shutdown("no service could start");
    return;
  }
  const notReady = await waitReady(specs);
  if (!shuttingDown) banner(notReady, web && !notReady.includes(web.name) ? web : undefined, secret, redisDescription);
}

main().catch(async (error) => {
  fail(`npm start failed: ${error.message}`);
  if (process.env.DEBUG) process.stderr.write(`${error.stack}\n`);
  await shutdown("error").catch(() => process.exit(1));
});
