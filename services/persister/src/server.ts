import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import { loadOrExit, runWorkerService } from "@parley/runtime";
import { buildPersister } from "./app.js";
import { loadConfig } from "./env.js";

const config = loadOrExit("persister", () => loadConfig());

await runWorkerService({
  service: "persister",
  config,
  database: {
    open: (pod) => createDatabase({ url: config.common.databaseUrl, max: config.databasePoolSize, applicationName: pod }),
    ping: (database) => database.sql`select 1`,
    close: (database) => database.close(),
  },
  build: ({ database, workerRedis, publishRedis, registry, logger }) => {
    const persister = buildPersister({ database, workerRedis, publishRedis, registry, logger, keyspace: DEFAULT_KEYSPACE, config });
    return { run: () => persister.run(), stop: () => persister.stop() };
  },
});
