import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import { loadOrExit, runWorkerService } from "@parley/runtime";
import { buildDelivery } from "./app.js";
import { loadEnv } from "./env.js";

const env = loadOrExit("delivery", () => loadEnv());

await runWorkerService({
  service: "delivery",
  env,
  database: {
    open: (pod) => createDatabase({ url: env.DATABASE_URL, max: 2, applicationName: pod }),
    ping: (database) => database.sql`select 1`,
    close: (database) => database.close(),
  },
  build: ({ workerRedis, publishRedis, database, registry, logger }) => {
    const delivery = buildDelivery({
      workerRedis,
      publishRedis,
      database,
      registry,
      logger,
      keyspace: DEFAULT_KEYSPACE,
      presence: { ttlMs: env.PRESENCE_TTL_MS, flushMs: env.PRESENCE_FLUSH_MS, offlineGraceMs: env.PRESENCE_OFFLINE_GRACE_MS },
    });
    return { run: delivery.run, stop: delivery.stop };
  },
});
