import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createDatabase, freePort, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const entry = (path: string) => `${ROOT}${path}`;

interface Child {
  name: string;
  process: ChildProcess;
  /** The last lines it printed, for a failure's message. */
  tail: string[];
}

export interface LocalCluster {
  gateways: string[];
  /** The web chat's server (built app, /config.json, /dev/token). */
  web: string;
  secret: string;
  /** Recent output of every process, for diagnosing a failure. */
  logs(): string;
  stop(): Promise<void>;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string, children: Child[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = children.find((c) => c.process.exitCode !== null || c.process.signalCode !== null);
    if (dead) throw new Error(`${dead.name} exited while starting:\n${dead.tail.join("\n")}`);
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what} not ready within ${timeoutMs} ms`);
}

const ready = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(1_000) })).ok;

/**
 * The cluster `npm start` runs, as real processes from the built workspaces: two gateways,
 * the persister, the delivery service and the web chat's server, against a Redis of its own
 * (the services use the default keyspace) and a fresh database on the run's PostgreSQL.
 */
export async function startLocalCluster(): Promise<LocalCluster> {
  for (const path of ["services/gateway/dist/server.js", "services/persister/dist/server.js", "services/delivery/dist/server.js", "examples/web/dist/server/serve.js", "examples/web/dist/public/index.html"]) {
    if (!existsSync(entry(path))) throw new Error(`${path} is missing: build first (npm run build)`);
  }
  const secret = "browser-test-secret-0123456789";
  const children: Child[] = [];
  let redis: ServerHandle | undefined;
  let db: TestDatabase | undefined;

  const run = (name: string, script: string, env: Record<string, string>, args: string[] = []) => {
    const child = spawn(process.execPath, [entry(script), ...args], {
      env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", LOG_LEVEL: "warn", JWT_SECRET: secret, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const record: Child = { name, process: child, tail: [] };
    const keep = (chunk: Buffer) => {
      record.tail.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      if (record.tail.length > 40) record.tail.splice(0, record.tail.length - 40);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    children.push(record);
  };

  const stop = async () => {
    for (const { process: child } of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await Promise.all(children.map(({ process: child }) => (child.exitCode === null && child.signalCode === null ? once(child, "exit") : undefined)));
    await redis?.close();
    await db?.drop();
  };

  try {
    [redis, db] = await Promise.all([startRedis({ infra: "local" }), createDatabase(testInfra().databaseUrl)]);
    const [gatewayA, gatewayB, persisterPort, deliveryPort, webPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const gateways = [`http://127.0.0.1:${gatewayA}`, `http://127.0.0.1:${gatewayB}`];
    const web = `http://127.0.0.1:${webPort}`;
    const shared = { REDIS_URL: redis.url, DATABASE_URL: db.url };
    // The history test seeds a long conversation over HTTP; the default 20/s would slow it down.
    const gatewayEnv = { ...shared, HOST: "127.0.0.1", CORS_ORIGINS: web, RATE_LIMIT_PER_SECOND: "1000", RATE_LIMIT_BURST: "2000",
      // Typing is shed while the event loop lags: on a loaded test machine the typing line
      // would depend on the neighbours (the gate has its own tests).
      TYPING_SHED_LOOP_DELAY_MS: "10000" };
    run("gateway-1", "services/gateway/dist/server.js", { ...gatewayEnv, PORT: String(gatewayA), POD_NAME: "gateway-1" });
    run("gateway-2", "services/gateway/dist/server.js", { ...gatewayEnv, PORT: String(gatewayB), POD_NAME: "gateway-2" });
    run("persister", "services/persister/dist/server.js", { ...shared, METRICS_PORT: String(persisterPort), POD_NAME: "persister" });
    run("delivery", "services/delivery/dist/server.js", { ...shared, METRICS_PORT: String(deliveryPort), POD_NAME: "delivery" });
    run("web", "examples/web/dist/server/serve.js", {}, ["--port", String(webPort), "--host", "127.0.0.1", "--gateways", gateways.join(",")]);
    const probes = [...gateways.map((g) => `${g}/readyz`), `http://127.0.0.1:${persisterPort}/readyz`, `http://127.0.0.1:${deliveryPort}/readyz`, `${web}/healthz`];
    await until(async () => (await Promise.all(probes.map(ready))).every(Boolean), 60_000, "the local cluster", children);
    return {
      gateways,
      web,
      secret,
      logs: () => children.map((c) => `── ${c.name}\n${c.tail.join("\n")}`).join("\n"),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
