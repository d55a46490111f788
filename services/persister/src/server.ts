import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import { commonConfig, loadOrExit, runWorkerService } from "@parley/runtime";
import { buildPersister } from "./app.js";
import { loadEnv } from "./env.js";

const env = loadOrExit("persister", () => loadEnv());

await runWorkerService({
  service: "persister",
  config: { common: commonConfig(env, `persister-${randomBytes(3).toString("hex")}`), metricsPort: env.METRICS_PORT, shutdownGraceMs: env.SHUTDOWN_GRACE_MS },
  database: {
    open: (pod) => createDatabase({ url: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE, applicationName: pod }),
    ping: (database) => database.sql`select 1`,
    close: (database) => database.close(),
  },
  build: ({ database, workerRedis, publishRedis, registry, logger }) => {
    const persister = buildPersister({
      database,
      workerRedis,
      publishRedis,
      registry,
      logger,
      // Stable across restarts of the pod (a StatefulSet's or a Deployment pod's name), so a
      // restarted container first re-reads the entries it had read and not committed. Without
      // POD_NAME, the host and process: two persisters on one host must not share a name (each
      // would re-read, and count deliveries of, what the other holds); a restarted one's
      // entries are then reclaimed after PERSIST_CLAIM_IDLE_MS instead.
      consumer: env.POD_NAME ?? `${hostname()}-${process.pid}`,
      maxBatch: env.PERSIST_MAX_BATCH,
      lanes: env.PERSIST_LANES,
      commitIntervalMs: env.PERSIST_COMMIT_INTERVAL_MS,
      searchIndexCleanMs: env.SEARCH_INDEX_CLEAN_MS,
      readCount: env.PERSIST_READ_COUNT,
      claimIdleMs: env.PERSIST_CLAIM_IDLE_MS,
      maxDeliveries: env.PERSIST_MAX_DELIVERIES,
      keyspace: DEFAULT_KEYSPACE,
    });
    return { run: () => persister.run(), stop: () => persister.stop() };
  },
});
