import { readFileSync } from "node:fs";
import type { Server as HttpsServer } from "node:https";
import { Queue } from "bullmq";
import { DEFAULT_KEYSPACE } from "@parley/bus";
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
import { jwksStateReporter } from "./auth/jwks-state.js";
import { reloadCertificates } from "./http/certificate-reload.js";
import { loadConfig } from "./env.js";
import { openGatewayDatabase } from "./open-database.js";

const config = loadOrExit("gateway", () => loadConfig());
const { podName } = config.common;
const logger = createLogger({ service: "gateway", level: config.common.logLevel, pod: podName });
const registry = createMetricsRegistry({ service: "gateway" });

if (config.auth.developmentSecret) {
  // env.ts refuses this in production; a development start signs with the well-known key.
  logger.warn("no JWT key configured: using the development secret (never in production)");
}

// Read at start (a missing or unreadable file stops the start with its path); renewals below.
const tls = loadOrExit("gateway", () =>
  config.http.tls ? { cert: readFileSync(config.http.tls.certFile), key: readFileSync(config.http.tls.keyFile) } : undefined,
);

const database = openGatewayDatabase(config.common.databaseUrl, config.database, podName);
const redis = createRedis({ topology: config.common.redis, name: `${podName}:producer`, role: "producer", logger });
const adapterSubscriber = createRedis({ topology: config.common.redis, name: `${podName}:adapter`, role: "subscriber", logger });
const eventsSubscriber = createRedis({ topology: config.common.redis, name: `${podName}:events`, role: "subscriber", logger });

await startOrExit("gateway", logger, async () => {
  await Promise.all([redis, adapterSubscriber, eventsSubscriber].map((r) => waitForReady(r, 30_000)));
  await assertNoEviction(redis);
});

const receiptsQueue = new Queue("receipts", { connection: redis, prefix: DEFAULT_KEYSPACE.queuePrefix });
receiptsQueue.on("error", (err) => logger.debug({ err: err.message }, "receipts queue error"));

const gateway = await buildApp({
  config,
  logger,
  registry,
  database,
  verify: createTokenVerifier({
    ...config.auth,
    onJwksOutage: jwksStateReporter(registry, logger, config.auth.jwksUrl),
  }),
  redis,
  adapterSubscriber,
  eventsSubscriber,
  receiptsQueue,
  keyspace: DEFAULT_KEYSPACE,
  tls,
});
await startOrExit("gateway", logger, async () => {
  const port = await gateway.listen(config.http.port, config.http.host);
  logger.info({ port, pod: gateway.podId, tls: tls !== undefined }, "gateway listening");
});
// A renewed certificate (cert-manager writes it into the mounted Secret) is served without a
// restart; polling once a minute is far inside any renewal window (days before expiry).
const stopCertificateReload = config.http.tls
  ? reloadCertificates(gateway.app.server as unknown as HttpsServer, config.http.tls, { intervalMs: 60_000, logger })
  : undefined;

onShutdown({
  logger,
  graceMs: config.shutdownGraceMs,
  // Order: drain sockets while Redis and Postgres are still there (in-flight sends get their
  // acks), then the queue and the connections.
  stop: async () => {
    stopCertificateReload?.();
    await gateway.drain();
    await receiptsQueue.close().catch(() => {});
    await Promise.allSettled([database.close(), redis.quit(), adapterSubscriber.quit(), eventsSubscriber.quit()]);
  },
});
