import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import { loadOrExit, runWorkerService } from "@parley/runtime";
import { buildDelivery } from "./app.js";
import { loadConfig } from "./env.js";
import { createWebhookNotifier } from "./notifications/webhook-notifier.js";

const config = loadOrExit("delivery", () => loadConfig());

await runWorkerService({
  service: "delivery",
  config,
  database: {
    open: (pod) => createDatabase({ url: config.common.databaseUrl, max: config.database.poolSize, applicationName: pod }),
    ping: (database) => database.sql`select 1`,
    close: (database) => database.close(),
  },
  build: ({ database, workerRedis, publishRedis, registry, logger }) => {
    const webhook = config.notifications.webhook;
    const delivery = buildDelivery({
      database,
      workerRedis,
      publishRedis,
      registry,
      logger,
      keyspace: DEFAULT_KEYSPACE,
      config,
      notifier: webhook ? createWebhookNotifier(webhook) : undefined,
    });
    return { run: () => delivery.run(), stop: () => delivery.stop() };
  },
});
