import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { io as connectClient } from "socket.io-client";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase, freePort, signToken, spawnService, startRedis, type ServerHandle, type ServiceName, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import type { ClientSocket } from "./cluster.js";
import { ask, listen, until } from "./presence-helpers.js";

const SECRET = "presence-process-secret-0123456789";

// Real processes use the default keyspace: a Redis of their own keeps them apart from every
// other test file, and a database of their own.
let redis: ServerHandle;
let db: TestDatabase;
const children: ChildProcess[] = [];
beforeAll(async () => {
  [redis, db] = await Promise.all([startRedis({ infra: "local" }), createDatabase(testInfra().databaseUrl)]);
});
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? once(c, "exit") : undefined)));
  await redis?.close();
  await db?.drop();
});

function run(service: ServiceName, env: Record<string, string>): ChildProcess {
  const { child } = spawnService(service, { DATABASE_URL: db.url, REDIS_URL: redis.url, ...env }, { echoStderr: true });
  children.push(child);
  return child;
}

async function ready(url: string): Promise<void> {
  await until(async () => (await fetch(url).catch(() => undefined))?.status === 200, 20_000, `${url} ready`);
}

function connect(base: string, token: string): Promise<ClientSocket> {
  const socket: ClientSocket = connectClient(base, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("session:ready", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

it("a gateway killed with SIGKILL: its users go offline within 30 s (default heartbeat and TTL)", async () => {
  const [portA, portB, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const gatewayEnv = { HOST: "127.0.0.1", JWT_SECRET: SECRET };
  const victimPod = run("gateway", { ...gatewayEnv, PORT: String(portA), POD_NAME: "gw-victim" });
  run("gateway", { ...gatewayEnv, PORT: String(portB), POD_NAME: "gw-survivor" });
  run("delivery", { METRICS_PORT: String(metricsPort) });
  const [a, b] = [`http://127.0.0.1:${portA}`, `http://127.0.0.1:${portB}`];
  await Promise.all([ready(`${a}/readyz`), ready(`${b}/readyz`), ready(`http://127.0.0.1:${metricsPort}/readyz`)]);

  const victimToken = await signToken({ sub: "victim", name: "Victim", secret: SECRET });
  const watcherToken = await signToken({ sub: "watcher", name: "Watcher", secret: SECRET });
  const created = await fetch(`${b}/v1/conversations`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${watcherToken}` },
    body: JSON.stringify({ kind: "direct", memberIds: ["victim"] }),
  });
  expect(created.status).toBe(201);

  const watcher = await connect(b, watcherToken);
  const hears = listen(watcher);
  // Two sockets of the victim on the pod that will die.
  await connect(a, victimToken);
  await connect(a, victimToken);
  await until(() => hears.presenceOf("victim").length === 1, 10_000, "the watcher hears the victim online");
  expect(hears.presenceOf("victim")[0]!.status).toBe("online");

  const killedAt = Date.now();
  victimPod.kill("SIGKILL");
  await once(victimPod, "exit");
  await until(() => hears.presenceOf("victim").length === 2, 30_000, "the watcher hears the victim offline");
  const offline = hears.presenceOf("victim")[1]!;
  expect(offline.status).toBe("offline");
  expect(offline.at - killedAt).toBeLessThan(30_000);
  process.stdout.write(`SIGKILL → offline announced after ${offline.at - killedAt} ms (last heartbeat ${killedAt - Date.parse(offline.lastSeenAt!)} ms before the kill)\n`);
  // lastSeenAt is the dead pod's last heartbeat: at most a heartbeat before the kill.
  expect(Date.parse(offline.lastSeenAt!)).toBeLessThanOrEqual(killedAt);
  expect(Date.parse(offline.lastSeenAt!)).toBeGreaterThan(killedAt - 10_000);

  expect(await ask(watcher, "presence:query", { userIds: ["victim"] })).toEqual({
    ok: true,
    presence: [{ userId: "victim", status: "offline", lastSeenAt: offline.lastSeenAt }],
  });
  const admin = new Redis(redis.url);
  try {
    expect(await admin.hget(DEFAULT_KEYSPACE.presence.counts, "victim")).toBeNull();
    expect(await admin.zrange(DEFAULT_KEYSPACE.presence.pods, 0, -1)).toHaveLength(1);
  } finally {
    admin.disconnect();
  }
  const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(metrics).toMatch(/parley_presence_swept_pods_total\{[^}]*\} 1/);
  watcher.disconnect();
}, 60_000);

/** Makes one pod's clock run this far off the machine's (fixtures/skewed-clock.mjs). */
const SKEWED_CLOCK = fileURLToPath(new URL("./fixtures/skewed-clock.mjs", import.meta.url));
// Ahead, not behind: a token signed by the true clock must not look issued in the future to it.
const SKEW_MS = 10 * 60_000;

it("lastSeenAt comes from one clock (Redis'): a pod whose clock is 10 minutes ahead reports the same time as the others", async () => {
  const [portSkewed, portB, metricsPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const gatewayEnv = { HOST: "127.0.0.1", JWT_SECRET: SECRET };
  run("gateway", { ...gatewayEnv, PORT: String(portSkewed), POD_NAME: "gw-skewed", NODE_OPTIONS: `--import ${SKEWED_CLOCK}`, CLOCK_SKEW_MS: String(SKEW_MS) });
  run("gateway", { ...gatewayEnv, PORT: String(portB), POD_NAME: "gw-true" });
  run("delivery", { METRICS_PORT: String(metricsPort), PRESENCE_OFFLINE_GRACE_MS: "0", PRESENCE_FLUSH_MS: "200" });
  const [skewed, b] = [`http://127.0.0.1:${portSkewed}`, `http://127.0.0.1:${portB}`];
  await Promise.all([ready(`${skewed}/readyz`), ready(`${b}/readyz`), ready(`http://127.0.0.1:${metricsPort}/readyz`)]);

  const drifterToken = await signToken({ sub: "drifter", secret: SECRET });
  const observerToken = await signToken({ sub: "observer", secret: SECRET });
  const created = await fetch(`${b}/v1/conversations`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${observerToken}` },
    body: JSON.stringify({ kind: "direct", memberIds: ["drifter"] }),
  });
  expect(created.status).toBe(201);
  const observer = await connect(b, observerToken);
  const hears = listen(observer);

  const drifter = await connect(skewed, drifterToken);
  await until(() => hears.presenceOf("drifter").length === 1, 10_000, "the observer hears the drifter online");
  const leftAt = Date.now();
  drifter.disconnect();
  await until(() => hears.presenceOf("drifter").length === 2, 10_000, "the observer hears the drifter offline");
  const offline = hears.presenceOf("drifter")[1]!;
  expect(offline.status).toBe("offline");
  // The skewed pod would have said 10 minutes from now; Redis' clock says now.
  expect(Math.abs(Date.parse(offline.lastSeenAt!) - leftAt)).toBeLessThan(5_000);
  // And a query on the skewed pod answers the same time.
  const onSkewed = await connect(skewed, observerToken);
  expect(await ask(onSkewed, "presence:query", { userIds: ["drifter"] })).toEqual({
    ok: true,
    presence: [{ userId: "drifter", status: "offline", lastSeenAt: offline.lastSeenAt }],
  });
  observer.disconnect();
  onSkewed.disconnect();
}, 60_000);
