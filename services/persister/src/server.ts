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
import { buildPersister } from "./app.js";
import { loadEnv } from "./env.js";

const env = loadOrExit("persister", () => loadEnv());
const pod = env.POD_NAME ?? `persister-${randomBytes(3).toString("hex")}`;
const logger = createLogger({ service: "persister", level: env.LOG_LEVEL, pod });
const registry = createMetricsRegistry({ service: "persister" });

const database = createDatabase({ url: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE, applicationName: pod });
const workerRedis = createRedis({ url: env.REDIS_URL, name: `${pod}:worker`, role: "consumer", logger });
const publishRedis = createRedis({ url: env.REDIS_URL, name: `${pod}:publish`, role: "producer", logger });

await startOrExit("persister", logger, async () => {
  await waitForReady(publishRedis, 30_000);
  await assertNoEviction(publishRedis);
});

let draining = false;
const persister = buildPersister({
  database,
  workerRedis,
  publishRedis,
  registry,
  logger,
  concurrency: env.PERSIST_CONCURRENCY,
  maxBatch: env.PERSIST_MAX_BATCH,
  lanes: env.PERSIST_LANES,
  keyspace: DEFAULT_KEYSPACE,
});
const ops = await startOpsServer({
  port: env.METRICS_PORT,
  registry,
  ready: createReadiness({ redis: publishRedis, pingDatabase: () => database.sql`select 1`, draining: () => draining }),
});
void persister.worker.run();
logger.info({ metricsPort: ops.port, concurrency: env.PERSIST_CONCURRENCY }, "persister started");

onShutdown({
  logger,
  graceMs: env.SHUTDOWN_GRACE_MS,
  // Order: stop taking jobs and finish the ones in flight (they need Postgres and Redis),
  // then close the connections, then the ops server so probes see us until the end.
  stop: async () => {
    draining = true;
    await persister.stop();
    await Promise.allSettled([database.close(), workerRedis.quit(), publishRedis.quit()]);
    await ops.close();
  },
});
