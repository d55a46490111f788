import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import { loadOrExit, runWorkerService } from "@parley/runtime";
import { buildPersister } from "./app.js";
import { loadEnv } from "./env.js";

const env = loadOrExit("persister", () => loadEnv());

await runWorkerService({
  service: "persister",
  env,
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
      concurrency: env.PERSIST_CONCURRENCY,
      maxBatch: env.PERSIST_MAX_BATCH,
      lanes: env.PERSIST_LANES,
      keyspace: DEFAULT_KEYSPACE,
    });
    return { run: () => void persister.worker.run(), stop: () => persister.stop() };
  },
});
