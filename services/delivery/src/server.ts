import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import { loadOrExit, runWorkerService } from "@parley/runtime";
import { buildDelivery } from "./app.js";
import { loadEnv } from "./env.js";
import { createWebhookNotifier } from "./notifications/webhook-notifier.js";

const env = loadOrExit("delivery", () => loadEnv());

await runWorkerService({
  service: "delivery",
  env,
  database: {
    open: (pod) => createDatabase({ url: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE, applicationName: pod }),
    ping: (database) => database.sql`select 1`,
    close: (database) => database.close(),
  },
  build: ({ database, workerRedis, publishRedis, registry, logger }) => {
    const delivery = buildDelivery({
      database,
      workerRedis,
      publishRedis,
      registry,
      logger,
      keyspace: DEFAULT_KEYSPACE,
      config: {
        receipts: { concurrency: env.RECEIPT_CONCURRENCY, maxBatch: env.RECEIPT_MAX_BATCH },
        notifications: {
          collapseMs: env.PUSH_COLLAPSE_MS,
          attempts: env.PUSH_ATTEMPTS,
          backoffMs: env.PUSH_BACKOFF_MS,
          handOffConcurrency: env.NOTIFY_CONCURRENCY,
          pushConcurrency: env.PUSH_CONCURRENCY,
          previewChars: env.PUSH_PREVIEW_CHARS,
        },
        presence: { ttlMs: env.PRESENCE_TTL_MS, flushMs: env.PRESENCE_FLUSH_MS, offlineGraceMs: env.PRESENCE_OFFLINE_GRACE_MS },
      },
      notifier:
        env.PUSH_WEBHOOK_URL && env.PUSH_WEBHOOK_SECRET
          ? createWebhookNotifier({ url: env.PUSH_WEBHOOK_URL, secret: env.PUSH_WEBHOOK_SECRET, timeoutMs: env.PUSH_TIMEOUT_MS })
          : undefined,
    });
    return { run: () => delivery.run(), stop: () => delivery.stop() };
  },
});
