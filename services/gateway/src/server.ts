import { Queue } from "bullmq";
import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createDatabase } from "@parley/db";
import {
  assertNoEviction,
  createLogger,
  createMetricsRegistry,
  createRedis,
  onShutdown,
  loadOrExit,
  startOrExit,
  waitForReady,
} from "@parley/runtime";
import { buildApp } from "./app.js";
import { createTokenVerifier } from "./auth/token-verifier.js";
import { DEV_JWT_SECRET, loadEnv } from "./env.js";

const env = loadOrExit("gateway", () => loadEnv());
const podName = env.POD_NAME ?? "gateway";
const logger = createLogger({ service: "gateway", level: env.LOG_LEVEL, pod: podName });
const registry = createMetricsRegistry({ service: "gateway" });

let secret = env.JWT_SECRET;
if (!secret && !env.JWT_JWKS_URL) {
  // env.ts refuses this combination in production; a development start gets a known key.
  logger.warn("no JWT key configured: using the development secret (never in production)");
  secret = DEV_JWT_SECRET;
}

const database = createDatabase({ url: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE, applicationName: podName });
const redis = createRedis({ url: env.REDIS_URL, name: `${podName}:producer`, role: "producer", logger });
const adapterSubscriber = createRedis({ url: env.REDIS_URL, name: `${podName}:adapter`, role: "subscriber", logger });
const eventsSubscriber = createRedis({ url: env.REDIS_URL, name: `${podName}:events`, role: "subscriber", logger });

await startOrExit("gateway", logger, async () => {
  await Promise.all([redis, adapterSubscriber, eventsSubscriber].map((r) => waitForReady(r, 30_000)));
  await assertNoEviction(redis);
});

const receiptsQueue = new Queue("receipts", { connection: redis, prefix: DEFAULT_KEYSPACE.queuePrefix });
receiptsQueue.on("error", (err) => logger.debug({ err: err.message }, "receipts queue error"));

const gateway = await buildApp({
  config: {
    podName,
    corsOrigins: env.CORS_ORIGINS,
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    rateLimit: { perSecond: env.RATE_LIMIT_PER_SECOND, burst: env.RATE_LIMIT_BURST },
    sendTimeoutMs: env.SEND_TIMEOUT_MS,
    sendBatchWindowMs: env.SEND_BATCH_WINDOW_MS,
    persistStreamMaxLen: env.PERSIST_STREAM_MAXLEN,
    receiptBatchWindowMs: env.RECEIPT_BATCH_WINDOW_MS,
    bodyMaxChars: env.MESSAGE_BODY_MAX_CHARS,
    presenceHeartbeatMs: env.PRESENCE_HEARTBEAT_MS,
    typing: { throttleMs: env.TYPING_THROTTLE_MS, timeoutMs: env.TYPING_TIMEOUT_MS },
    typingShedLoopDelayMs: env.TYPING_SHED_LOOP_DELAY_MS,
    dependencyCheckMs: env.DEPENDENCY_CHECK_MS,
  },
  logger,
  registry,
  database,
  verify: createTokenVerifier({
    secret,
    jwksUrl: env.JWT_JWKS_URL,
    issuer: env.JWT_ISSUER,
    audience: env.JWT_AUDIENCE,
    algorithms: env.JWT_ALGORITHMS,
  }),
  redis,
  adapterSubscriber,
  eventsSubscriber,
  receiptsQueue,
  keyspace: DEFAULT_KEYSPACE,
});
await startOrExit("gateway", logger, async () => {
  const port = await gateway.listen(env.PORT, env.HOST);
  logger.info({ port, pod: gateway.podId }, "gateway listening");
});

onShutdown({
  logger,
  graceMs: env.SHUTDOWN_GRACE_MS,
  // Order: drain sockets while Redis and Postgres are still there (in-flight sends get their
  // acks), then the queue and the connections.
  stop: async () => {
    await gateway.drain();
    await receiptsQueue.close().catch(() => {});
    await Promise.allSettled([database.close(), redis.quit(), adapterSubscriber.quit(), eventsSubscriber.quit()]);
  },
});
