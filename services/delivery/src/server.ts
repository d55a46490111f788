import { randomBytes } from "node:crypto";
import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import {
  assertNoEviction,
  createLogger,
  createMetricsRegistry,
  createReadiness,
  createRedis,
  onShutdown,
  startOpsServer,
  loadOrExit,
  startOrExit,
  waitForReady,
} from "@parley/runtime";
import { buildDelivery } from "./app.js";
import { loadEnv } from "./env.js";

const env = loadOrExit("delivery", () => loadEnv());
const pod = env.POD_NAME ?? `delivery-${randomBytes(3).toString("hex")}`;
const logger = createLogger({ service: "delivery", level: env.LOG_LEVEL, pod });
const registry = createMetricsRegistry({ service: "delivery" });

const database = createDatabase({ url: env.DATABASE_URL, max: 2, applicationName: pod });
const workerRedis = createRedis({ url: env.REDIS_URL, name: `${pod}:worker`, role: "consumer", logger });
const probeRedis = createRedis({ url: env.REDIS_URL, name: `${pod}:probe`, role: "producer", logger });
await startOrExit("delivery", logger, async () => {
  await waitForReady(probeRedis, 30_000);
  await assertNoEviction(probeRedis);
});

let draining = false;
const delivery = buildDelivery({ workerRedis, logger, keyspace: DEFAULT_KEYSPACE });
const ops = await startOpsServer({
  port: env.METRICS_PORT,
  registry,
  ready: createReadiness({ redis: probeRedis, pingDatabase: () => database.sql`select 1`, draining: () => draining }),
});
void delivery.worker.run();
logger.info({ metricsPort: ops.port }, "delivery started");

onShutdown({
  logger,
  graceMs: env.SHUTDOWN_GRACE_MS,
  stop: async () => {
    draining = true;
    await delivery.stop();
    await Promise.allSettled([database.close(), workerRedis.quit(), probeRedis.quit()]);
    await ops.close();
  },
});
