import { createDatabase, freePort, NodeScriptProcess, ServiceProcess, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";

export interface LocalCluster {
  gateways: string[];
  /** The gateways' processes: a test stops one (the real drain) and starts it again. */
  gatewayProcesses: ServiceProcess[];
  /** The web chat's server (built app, /config.json, /dev/token). */
  web: string;
  secret: string;
  /** Recent output of every process, for diagnosing a failure. */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * The cluster `npm start` runs, as real processes from the built workspaces: two gateways,
 * the persister, the delivery service and the web chat's server, against a Redis of its own
 * (the services use the default keyspace) and a fresh database on the run's PostgreSQL.
 */
export async function startLocalCluster(): Promise<LocalCluster> {
  const secret = "browser-test-secret-0123456789";
  let redis: ServerHandle | undefined;
  let db: TestDatabase | undefined;
  let processes: NodeScriptProcess[] = [];
  const stop = async () => {
    await Promise.all(processes.map((p) => p.kill()));
    await redis?.close();
    await db?.drop();
  };

  try {
    [redis, db] = await Promise.all([startRedis({ infra: "local" }), createDatabase(testInfra().databaseUrl)]);
    const [gatewayA, gatewayB, persisterPort, deliveryPort, webPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const web = `http://127.0.0.1:${webPort}`;
    const shared = { REDIS_URL: redis.url, DATABASE_URL: db.url };
    // The history test seeds a long conversation over HTTP; the default 20/s would slow it down.
    const gatewayEnv = { ...shared, HOST: "127.0.0.1", JWT_SECRET: secret, CORS_ORIGINS: web, RATE_LIMIT_PER_SECOND: "1000", RATE_LIMIT_BURST: "2000",
      // Typing is shed while the event loop lags: on a loaded test machine the typing line
      // would depend on the neighbours (the gate has its own tests).
      TYPING_SHED_LOOP_DELAY_MS: "10000" };
    const gateways = [new ServiceProcess("gateway", "gateway-1", gatewayA, gatewayEnv), new ServiceProcess("gateway", "gateway-2", gatewayB, gatewayEnv)];
    processes = [
      ...gateways,
      new ServiceProcess("persister", "persister", persisterPort, shared),
      new ServiceProcess("delivery", "delivery", deliveryPort, shared),
      new NodeScriptProcess({
        name: "web",
        script: "examples/web/dist/server/serve.js",
        args: ["--port", String(webPort), "--host", "127.0.0.1", "--gateways", gateways.map((g) => g.url).join(",")],
        env: { JWT_SECRET: secret },
        readyUrl: `${web}/healthz`,
      }),
    ];
    await Promise.all(processes.map((p) => p.start(60_000)));
    return {
      gateways: gateways.map((g) => g.url),
      gatewayProcesses: gateways,
      web,
      secret,
      logs: () => processes.map((p) => `── ${p.name}\n${p.output()}`).join("\n"),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
