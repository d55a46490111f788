import { randomBytes } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { Server } from "socket.io";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import type { Queue } from "bullmq";
import { appendPersistEntry, readPersistBacklog, type Keyspace } from "@parley/bus";
import { memberRole, upsertUser, type Database } from "@parley/db";
import { LIMITS, ParleyError } from "@parley/protocol";
import { createDependencyHealth, type Logger, type Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import type { TokenVerifier } from "./auth/token-verifier.js";
import { UserRecords } from "./auth/user-records.js";
import { ConversationService } from "./conversations/conversation-service.js";
import { MembershipCache } from "./conversations/membership-cache.js";
import { MembershipInvalidation } from "./conversations/membership-invalidation.js";
import { drainSockets } from "./drain.js";
import type { GatewayConfig } from "./env.js";
import { guardDb } from "./guard-db.js";
import { registerCors } from "./http/cors.js";
import { installErrorHandler } from "./http/error-handler.js";
import { registerRoutes } from "./http/routes.js";
import { MessageChangeService } from "./messages/message-change-service.js";
import { SearchService } from "./messages/search-service.js";
import { createGatewayMetrics } from "./metrics.js";
import { createRealtime } from "./realtime.js";
import { DeliveredBuffer } from "./receipts/delivered-buffer.js";
import { ReceiptService } from "./receipts/receipt-service.js";
import { AckListener } from "./send/ack-listener.js";
import { PendingAcks } from "./send/pending-acks.js";
import { PersistAdmission } from "./send/persist-admission.js";
import { createSendRateLimiter } from "./send/rate-limiter.js";
import { SendBuffer } from "./send/send-buffer.js";
import { SendService } from "./send/send-service.js";
import { attachSockets } from "./socket/attach.js";
import { createHandlers } from "./socket/handlers.js";
import type { SocketLifecycleHook } from "./socket/lifecycle.js";
import type { ParleyServer } from "./socket/types.js";

export interface GatewayDeps {
  /** env.ts `loadConfig()`: fully defaulted; nothing here writes a default of its own. */
  config: Omit<GatewayConfig, "auth">;
  logger: Logger;
  registry: Registry;
  database: Database;
  verify: TokenVerifier;
  /** Fail-fast connection: rate limits, adapter publishes, membership invalidations, persist stream appends. */
  redis: Redis;
  /** Subscriber connection for the Socket.IO adapter. */
  adapterSubscriber: Redis;
  /** Subscriber connection for this pod's acks and membership invalidations. */
  eventsSubscriber: Redis;
  /** The receipts queue (delivered watermarks for the delivery service; fail-fast connection). */
  receiptsQueue: Queue;
  /** Names of every Redis key and channel (a namespace lets tests share one Redis). */
  keyspace: Keyspace;
}

export interface Gateway {
  app: FastifyInstance;
  io: ParleyServer;
  podId: string;
  /** Resolves with the bound port (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number>;
  /** SIGTERM: not ready, refuse new sockets, close local ones in jittered batches, then close. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the gateway: Fastify for HTTP, Socket.IO on the same server. `server.ts` only listens. */
export async function buildApp(deps: GatewayDeps): Promise<Gateway> {
  const { config, logger } = deps;
  const podId = `${config.common.podName}-${randomBytes(4).toString("hex")}`;
  const dbTimeoutMs = config.database.timeoutMs;
  const metrics = createGatewayMetrics(deps.registry);
  let draining = false;

  const app = Fastify({ loggerInstance: logger.child({ component: "http" }) as FastifyBaseLogger, bodyLimit: LIMITS.frameBytes,
    // Per-request lines would dwarf everything else at chat rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  installErrorHandler(app, logger);

  const allowOrigin = (origin: string | undefined) =>
    origin === undefined || config.http.corsOrigins.includes("*") || config.http.corsOrigins.includes(origin);

  await registerCors(app, allowOrigin);

  const io: ParleyServer = new Server(app.server, {
    // Frames past 64 KiB are answered PAYLOAD_TOO_LARGE (socket/attach.ts); only frames past
    // 1 MiB close the connection, so a big event never takes the socket down with it.
    maxHttpBufferSize: 1024 * 1024,
    adapter: createShardedAdapter(deps.redis, deps.adapterSubscriber, {
      subscriptionMode: "dynamic",
      channelPrefix: deps.keyspace.adapterChannelPrefix,
    }),
    cors: { origin: (origin, cb) => cb(null, allowOrigin(origin)), credentials: true },
    allowRequest: (req, cb) => {
      if (draining) {
        metrics.handshakes.inc({ outcome: "draining" });
        return cb("draining", false);
      }
      const origin = req.headers.origin;
      if (!allowOrigin(origin)) {
        metrics.handshakes.inc({ outcome: "origin" });
        return cb("origin not allowed", false);
      }
      cb(null, true);
    },
    serveClient: false,
  });

  const membership = new MembershipCache((conversationId, userId) => memberRole(deps.database.sql, conversationId, userId));
  const invalidation = new MembershipInvalidation({
    cache: membership,
    publisher: deps.redis,
    subscriber: deps.eventsSubscriber,
    channel: deps.keyspace.membershipChannel,
    logger,
  });
  const pending = new PendingAcks(config.send.timeoutMs);
  const buffer = new SendBuffer(
    (replyTo, items) => appendPersistEntry(deps.redis, deps.keyspace, { replyTo, items }, config.send.persistStreamMaxLen),
    podId,
    (items, err) => {
      logger.warn({ err: String(err), items: items.length }, "enqueue failed");
      pending.fail(items, new ParleyError("UNAVAILABLE", "the persist stream is out of reach; retry later"));
    },
    (n) => metrics.enqueuedMessages.inc(n),
    { windowMs: config.send.batchWindowMs, maxItems: 500, maxInFlight: 1 },
  );
  const sendLimiter = createSendRateLimiter(deps.redis, { ...config.send.rateLimit, keyPrefix: deps.keyspace.sendRateLimitPrefix });
  const changesLimiter = createSendRateLimiter(deps.redis, {
    ...config.send.rateLimit,
    keyPrefix: `${deps.keyspace.sendRateLimitPrefix}:changes`,
    noun: "edits, deletions and reactions",
  });
  const { stalledConsumerMs, ...admissionBudget } = config.send.admission;
  const admission = new PersistAdmission(admissionBudget, {
    read: () => readPersistBacklog(deps.redis, deps.keyspace, stalledConsumerMs),
    metrics,
    logger,
  });
  await admission.start();
  const send = new SendService({
    admission,
    rateLimiter: sendLimiter,
    membership,
    buffer,
    pending,
    metrics,
    bodyMaxChars: config.send.bodyMaxChars,
    dbTimeoutMs,
    deadlineMs: config.send.timeoutMs,
  });
  const conversations = new ConversationService({
    database: deps.database,
    membership,
    invalidation,
    io,
    dbTimeoutMs,
    metrics,
  });

  const receipts = new ReceiptService({
    database: deps.database,
    conversations,
    buffer: new DeliveredBuffer(deps.receiptsQueue, { windowMs: config.receipts.batchWindowMs, maxItems: 1_000 }, (n) =>
      metrics.deliveredEnqueued.inc(n),
    ),
    io,
    logger,
    dbTimeoutMs,
  });
  const changes = new MessageChangeService({
    database: deps.database,
    io,
    rateLimiter: changesLimiter,
    bodyMaxChars: config.send.bodyMaxChars,
    dbTimeoutMs,
  });
  const search = new SearchService({
    database: deps.database,
    requireMember: (conversationId, userId) => conversations.requireRole(conversationId, userId),
    metrics,
    dbTimeoutMs,
  });

  // The send's return leg (this pod's acks), and membership changes made on other pods.
  const acks = new AckListener({ subscriber: deps.eventsSubscriber, channel: deps.keyspace.ackChannel(podId), pending, logger });
  await acks.start();
  await invalidation.start();

  const realtime = createRealtime({ io, redis: deps.redis, keyspace: deps.keyspace, podId, database: deps.database, conversations, registry: deps.registry, logger, dbTimeoutMs, config });
  // The pod's one list of socket hooks (socket/lifecycle.ts), run in this order on connect and
  // on disconnect, after attach.ts's own bookkeeping (rooms, expiry, socket gauges).
  const socketHooks: SocketLifecycleHook[] = [
    {
      // A user moving to another pod must not find their tokens held here (a user with other
      // sockets on this pod just reserves again).
      disconnected: (socket) => {
        sendLimiter.release(socket.data.userId);
        changesLimiter.release(socket.data.userId);
      },
    },
    realtime.socketHook,
  ];
  const users = new UserRecords((userId, name) => guardDb(upsertUser(deps.database.sql, userId, name), dbTimeoutMs));
  attachSockets({
    io,
    users,
    verify: deps.verify,
    database: deps.database,
    handlers: createHandlers({ send, conversations, receipts, verify: deps.verify, changes, typing: realtime.typing, presence: realtime.presence }),
    metrics,
    logger,
    dbTimeoutMs,
    hooks: socketHooks,
  });
  realtime.start();

  const health = createDependencyHealth({
    registry: deps.registry,
    redis: deps.redis,
    pingDatabase: () => deps.database.sql`select 1`,
    draining: () => draining,
    intervalMs: config.common.dependencyCheckMs,
    logger,
  });
  health.start();
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const ok = await health.ready();
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ready" : draining ? "draining" : "not ready" });
  });
  app.get("/metrics", async (_req, reply) => reply.type(deps.registry.contentType).send(await deps.registry.metrics()));
  await registerRoutes(app, { verify: deps.verify, conversations, receipts, send, users, search });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      health.stop();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await realtime.close();
      admission.close();
      await app.close().catch(() => {});
      // Unspent reservations back to the shared buckets, while Redis is still connected.
      await Promise.all([sendLimiter.close(), changesLimiter.close()]);
      await acks.close();
      await invalidation.close();
    })());

  return {
    app,
    io,
    podId,
    async listen(port, host) {
      await app.listen({ port, host });
      const address = app.server.address();
      return typeof address === "object" && address ? address.port : port;
    },
    async drain() {
      draining = true;
      logger.info({ sockets: io.of("/").sockets.size }, "draining: not ready, closing local sockets");
      await drainSockets(io.of("/"), Math.max(0, config.shutdownGraceMs - 3_000));
      await close();
    },
    close,
  };
}
