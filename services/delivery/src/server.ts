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
  build: ({ workerRedis, logger }) => {
    const delivery = buildDelivery({ workerRedis, logger, keyspace: DEFAULT_KEYSPACE });
    return { run: () => void delivery.worker.run(), stop: () => delivery.stop() };
  },
});
