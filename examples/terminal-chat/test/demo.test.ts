import { createDatabase, freePort, ServiceProcess, spawnNodeScript, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import { afterAll, beforeAll, expect, it } from "vitest";

// `npm run chat -- --demo` (the built dist/main.js) against the cluster `npm start` runs, as
// real processes: two gateways, the persister and the delivery service, with a Redis of their
// own (the services use the default keyspace) and a fresh database on the run's PostgreSQL.
const secret = "terminal-chat-test-secret-0123456789";
let redis: ServerHandle | undefined;
let db: TestDatabase | undefined;
let gateways: ServiceProcess[] = [];
let delivery: ServiceProcess | undefined;
let processes: ServiceProcess[] = [];

beforeAll(async () => {
  [redis, db] = await Promise.all([startRedis({ infra: "local" }), createDatabase(testInfra().databaseUrl)]);
  const [gatewayA, gatewayB, persisterPort, deliveryPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const shared = { REDIS_URL: redis.url, DATABASE_URL: db.url };
  // Typing is shed while the event loop lags: on a loaded test machine the typing check would
  // depend on the neighbours (the gate has its own tests).
  const gatewayEnv = { ...shared, HOST: "127.0.0.1", JWT_SECRET: secret, TYPING_SHED_LOOP_DELAY_MS: "10000" };
  gateways = [new ServiceProcess("gateway", "gateway-1", gatewayA, gatewayEnv), new ServiceProcess("gateway", "gateway-2", gatewayB, gatewayEnv)];
  delivery = new ServiceProcess("delivery", "delivery", deliveryPort, shared);
  processes = [...gateways, new ServiceProcess("persister", "persister", persisterPort, shared), delivery];
  await Promise.all(processes.map((p) => p.start(60_000)));
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.kill()));
  await redis?.close();
  await db?.drop();
});

async function runDemo(): Promise<{ code: number | null; output: string }> {
  const [a, b] = gateways.map((g) => g.url);
  const chat = spawnNodeScript("examples/terminal-chat/dist/main.js", { JWT_SECRET: secret }, { args: ["--demo", `--a=${a}`, `--b=${b}`] });
  const code = await chat.exited;
  return { code, output: chat.output() };
}

it("--demo sees every check pass across the two gateways and exits 0", async () => {
  const { code, output } = await runDemo();
  expect(output, output).toMatch(/✓ all \d+ checks passed/);
  expect(output).not.toMatch(/not seen/);
  expect(code, output).toBe(0);
});

it("--demo exits 1 and names what it did not see when the delivery service is down", async () => {
  await delivery!.kill();
  const { code, output } = await runDemo();
  expect(output, output).toMatch(/✗ \d+ of \d+ checks failed; not seen:/);
  expect(output).toContain("- alice sees bob go offline within 8 s");
  expect(code, output).toBe(1);
});
