import { createDatabase, type TestDatabase } from "../create-database.js";
import { startCutProxy, type CutProxy } from "../cut-proxy.js";
import { freePort } from "../free-port.js";
import { startRedis, type StartRedisOptions } from "../redis-server.js";
import type { ServerHandle } from "../server-handle.js";
import { ServiceProcess, type ServiceName } from "../service-process.js";
import { signToken } from "../tokens.js";
import { startNginx, type LoadBalancer } from "./nginx.js";
import { sampleProcess, type ProcessSample } from "./process-stats.js";

export const FAULT_SECRET = "fault-suite-secret-0123456789abcdef";

export interface FaultClusterOptions {
  /** The run's PostgreSQL (admin URL): the cluster makes a migrated database of its own there. */
  adminDatabaseUrl: string;
  gateways?: number;
  /** Put nginx in front of the gateways (clients then connect to `url`). Default true. */
  loadBalancer?: boolean;
  /** Start the delivery service (receipts, presence). Default true. */
  delivery?: boolean;
  /** Settings over the harness's own, per service (the services' env.ts names). */
  gatewayEnv?: Record<string, string>;
  /** Settings of gateway i alone, over `gatewayEnv` (e.g. a clock of its own). */
  gatewayEnvOf?: (i: number) => Record<string, string>;
  persisterEnv?: Record<string, string>;
  deliveryEnv?: Record<string, string>;
  /** The cluster's own Redis (persistence, maxmemory, ...). */
  redis?: Pick<StartRedisOptions, "persist" | "args" | "dir">;
}

/** One pod: its process, and (a gateway) the cuttable path between it and Redis. */
export interface Pod {
  process: ServiceProcess;
  service: ServiceName;
  /** The gateway's own TCP path to Redis: `cut()` isolates this pod from Redis alone. */
  redisPath?: CutProxy;
}

// What every fault scenario starts with: the services' defaults except what a test machine
// shared by two cores and one IP needs (see tests/cluster/test/cluster.ts for the same reasons).
const GATEWAY_BASE: Record<string, string> = {
  HOST: "127.0.0.1",
  JWT_SECRET: FAULT_SECRET,
  CORS_ORIGINS: "*",
  // Every client of the suite comes from 127.0.0.1; the per-IP cap has its own scenario.
  SOCKETS_PER_IP_MAX: "0",
  // A rolling restart under load should finish in seconds, as it does with these in a pod spec.
  SHUTDOWN_GRACE_MS: "5000",
  DRAIN_DELAY_MS: "500",
  ADMISSION_MAX_PERSIST_DELAY_MS: "2000",
  TYPING_SHED_LOOP_DELAY_MS: "10000",
  RATE_LIMIT_PER_SECOND: "1000",
  RATE_LIMIT_BURST: "2000",
  RATE_LIMIT_READS_PER_SECOND: "1000",
  RATE_LIMIT_READS_BURST: "2000",
  RATE_LIMIT_AUTH_PER_SECOND: "1000",
  RATE_LIMIT_AUTH_BURST: "2000",
};
const WORKER_BASE: Record<string, string> = { SHUTDOWN_GRACE_MS: "5000" };

/**
 * The whole cluster as `npm start` runs it — gateways, persister and delivery as processes
 * from their built dist/server.js — against a Redis of its own (a scenario may stop, fill or
 * restart it), a fresh database on the run's PostgreSQL, each gateway reaching Redis through
 * a TCP path the test can cut, and nginx in front of the gateways.
 */
export async function startFaultCluster(options: FaultClusterOptions) {
  const redis: ServerHandle = await startRedis({ infra: "local", ...options.redis });
  const database: TestDatabase = await createDatabase(options.adminDatabaseUrl, { prefix: "parley_fault" });
  const pods: Pod[] = [];
  const gatewayCount = options.gateways ?? 2;
  for (let i = 0; i < gatewayCount; i++) {
    const redisPath = await startCutProxy(redis.url);
    const env = { ...GATEWAY_BASE, REDIS_URL: redisPath.url, DATABASE_URL: database.url, ...options.gatewayEnv, ...options.gatewayEnvOf?.(i) };
    pods.push({ service: "gateway", redisPath, process: new ServiceProcess("gateway", `gateway-${i}`, await freePort(), env) });
  }
  const workerEnv = { ...WORKER_BASE, REDIS_URL: redis.url, DATABASE_URL: database.url };
  pods.push({ service: "persister", process: new ServiceProcess("persister", "persister-0", await freePort(), { ...workerEnv, ...options.persisterEnv }) });
  if (options.delivery !== false) {
    pods.push({ service: "delivery", process: new ServiceProcess("delivery", "delivery-0", await freePort(), { ...workerEnv, ...options.deliveryEnv }) });
  }
  await Promise.all(pods.map((p) => p.process.start(60_000)));
  const gateways = pods.filter((p) => p.service === "gateway");
  const lb: LoadBalancer | undefined = options.loadBalancer === false ? undefined : await startNginx(gateways.map((g) => g.process.url));

  return {
    redis,
    database,
    pods,
    gateways,
    persister: pods.find((p) => p.service === "persister")!,
    delivery: pods.find((p) => p.service === "delivery"),
    /** Where clients connect: nginx, or (without it) every gateway for the SDK to rotate through. */
    clientUrls: lb ? [lb.url] : gateways.map((g) => g.process.url),
    token: (sub: string, extra: Partial<Parameters<typeof signToken>[0]> = {}) => signToken({ sub, secret: FAULT_SECRET, name: sub, ...extra }),

    /** Every exit nobody asked for, by pod: empty when no process crashed. */
    crashes: () => pods.flatMap((p) => p.process.unexpectedExits.map((e) => ({ pod: p.process.name, ...e }))),

    /** CPU, memory and descriptors of every running pod. */
    async sample(): Promise<Record<string, ProcessSample>> {
      const out: Record<string, ProcessSample> = {};
      for (const p of pods) {
        const pid = p.process.pid;
        const s = pid === undefined ? undefined : await sampleProcess(pid);
        if (s) out[p.process.name] = s;
      }
      return out;
    },

    /** The pods that do not answer /readyz 200 (a drained or killed pod must have been started again), with their answer. */
    async notReady(): Promise<string[]> {
      const answers = await Promise.all(
        pods.map((p) =>
          fetch(`${p.process.url}/readyz`, { signal: AbortSignal.timeout(2_000) }).then(
            async (r) => (r.status === 200 ? "" : `${p.process.name}: ${r.status} ${(await r.text()).slice(0, 200)}`),
            (err: Error) => `${p.process.name}: ${err.message}`,
          ),
        ),
      );
      return answers.filter(Boolean);
    },

    async stop(): Promise<void> {
      await lb?.close().catch(() => {});
      await Promise.allSettled(pods.map((p) => p.process.kill()));
      await Promise.allSettled(pods.map((p) => p.redisPath?.close()));
      await database.drop().catch(() => {});
      await redis.close();
    },
  };
}

export type FaultCluster = Awaited<ReturnType<typeof startFaultCluster>>;
