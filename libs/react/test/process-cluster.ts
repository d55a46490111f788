import { freePort, ServiceProcess, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { createTestDatabase } from "@parley/testkit/vitest";

export interface ProcessCluster {
  gateways: string[];
  secret: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Two gateways, the persister and the delivery service as processes from the built
 * workspaces (as `npm start` runs them), against a Redis of their own (they use the default
 * keyspace) and a fresh database on the run's PostgreSQL.
 */
export async function startProcessCluster(): Promise<ProcessCluster> {
  const secret = "react-test-secret-0123456789abcdef";
  let redis: ServerHandle | undefined;
  let db: TestDatabase | undefined;
  let processes: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await redis?.close();
    await db?.drop();
  };
  try {
    [redis, db] = await Promise.all([startRedis({ infra: "local" }), createTestDatabase()]);
    const [a, b, persister, delivery] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const shared = { REDIS_URL: redis.url, DATABASE_URL: db.url };
    // A burst of 100 sends from one user: the default per-user rate limit would refuse part of it.
    const gatewayEnv = { ...shared, HOST: "127.0.0.1", JWT_SECRET: secret, RATE_LIMIT_PER_SECOND: "1000", RATE_LIMIT_BURST: "2000", TYPING_SHED_LOOP_DELAY_MS: "10000" };
    processes = [
      new ServiceProcess("gateway", "gateway-1", a, gatewayEnv),
      new ServiceProcess("gateway", "gateway-2", b, gatewayEnv),
      new ServiceProcess("persister", "persister", persister, shared),
      new ServiceProcess("delivery", "delivery", delivery, shared),
    ];
    await Promise.all(processes.map((p) => p.start(60_000)));
    return {
      gateways: processes.slice(0, 2).map((p) => p.url),
      secret,
      logs: () => processes.map((p) => `── ${p.name}\n${p.output()}`).join("\n"),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
