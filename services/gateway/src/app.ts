import { randomBytes } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { Server } from "socket.io";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import type { Queue } from "bullmq";
import { appendPersistEntry, decodeAckBatch, MembershipChangeSchema, type Keyspace } from "@parley/bus";
import { memberRole, upsertUser, type Database } from "@parley/db";
import { LIMITS, ParleyError } from "@parley/protocol";
import { createDependencyHealth, type Logger, type Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import type { TokenVerifier } from "./auth/token-verifier.js";
import { UserRecords } from "./auth/user-records.js";
import { ConversationService } from "./conversation-service.js";
import { drainSockets } from "./drain.js";
import { guardDb } from "./guard-db.js";
import { registerCors } from "./http/cors.js";
import { installErrorHandler } from "./http/error-handler.js";
import { registerRoutes } from "./http/routes.js";
import { MembershipCache } from "./membership-cache.js";
import { createGatewayMetrics } from "./metrics.js";
import { PendingAcks } from "./send/pending-acks.js";
import { DeliveredBuffer } from "./receipts/delivered-buffer.js";
import { ReceiptService } from "./receipts/receipt-service.js";
import { createSendRateLimiter } from "./send/rate-limiter.js";
import { SendBuffer } from "./send/send-buffer.js";
import { SendService } from "./send/send-service.js";
import { attachSockets, type ParleyServer } from "./socket/attach.js";
import { createHandlers } from "./socket/handlers.js";
import { MessageChangeService } from "./messages/message-change-service.js";
import { SearchService } from "./messages/search-service.js";
import { createRealtime } from "./realtime.js";
import type { TypingConfig } from "./typing/typing-service.js";

export interface GatewayConfig {
  podName: string;
  corsOrigins: string[];
  shutdownGraceMs: number;
  rateLimit: { perSecond: number; burst: number };
  sendTimeoutMs: number;
  /** Sends of this window share one persist stream entry under load (send/send-buffer.ts). */
  sendBatchWindowMs?: number;
  /** The persist stream's approximate length cap (XADD MAXLEN ~; libs/bus persist-stream.ts). */
  persistStreamMaxLen?: number;
  bodyMaxChars: number;
  /** `message:delivered` watermarks of this window share a receipts job (receipts/delivered-buffer.ts). */
  receiptBatchWindowMs?: number;
  /** Bound on a database call on a request path (below the contract's 2 s). */
  dbTimeoutMs?: number;
  /** Presence heartbeat period (the delivery service sweeps pods silent past its TTL). */
  presenceHeartbeatMs?: number;
  /** Typing throttle and expiry (defaults: 3 s, the contract's 6 s). */
  typing?: Partial<TypingConfig>;
  /** Typing is shed while the event loop's p99 delay is above this. */
  typingShedLoopDelayMs?: number;
  /** Redis and Postgres are checked this often for `parley_up` / `parley_ready` (default 5 s). */
  dependencyCheckMs?: number;
}

export interface GatewayDeps {
  config: GatewayConfig;
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
  listen(port: number, host?: string): Promise<number>;
  /** SIGTERM: not ready, refuse new sockets, close local ones in jittered batches, then close. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the gateway: Fastify for HTTP, Socket.IO on the same server. `server.ts` only listens. */
export async function buildApp(deps: GatewayDeps): Promise<Gateway> {
  const { config, logger } = deps;
  const podId = `${config.podName}-${randomBytes(4).toString("hex")}`;
  const dbTimeoutMs = config.dbTimeoutMs ?? 1_500;
  const metrics = createGatewayMetrics(deps.registry);
  let draining = false;

  const app = Fastify({ loggerInstance: logger.child({ component: "http" }) as FastifyBaseLogger, bodyLimit: LIMITS.frameBytes,
    // Per-request lines would dwarf everything else at chat rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
  });
  installErrorHandler(app, logger);

  const allowOrigin = (origin: string | undefined) =>
    origin === undefined || config.corsOrigins.includes("*") || config.corsOrigins.includes(origin);

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
  const pending = new PendingAcks(config.sendTimeoutMs);
  const buffer = new SendBuffer(
    (replyTo, items) => appendPersistEntry(deps.redis, deps.keyspace, { replyTo, items }, config.persistStreamMaxLen ?? 1_000_000),
    podId,
    (items, err) => {
      logger.warn({ err: String(err), items: items.length }, "enqueue failed");
      pending.fail(items, new ParleyError("UNAVAILABLE", "the persist stream is out of reach; retry later"));
    },
    (n) => metrics.enqueuedMessages.inc(n),
    { windowMs: config.sendBatchWindowMs ?? 2, maxItems: 500, maxInFlight: 1 },
  );
  const sendLimiter = createSendRateLimiter(deps.redis, { ...config.rateLimit, keyPrefix: deps.keyspace.sendRateLimitPrefix });
  const changesLimiter = createSendRateLimiter(deps.redis, {
    ...config.rateLimit,
    keyPrefix: `${deps.keyspace.sendRateLimitPrefix}:changes`,
    noun: "edits, deletions and reactions",
  });
  const send = new SendService({
    rateLimiter: sendLimiter,
    membership,
    buffer,
    pending,
    metrics,
    bodyMaxChars: config.bodyMaxChars,
    dbTimeoutMs,
    deadlineMs: config.sendTimeoutMs,
  });
  const conversations = new ConversationService({
    database: deps.database,
    membership,
    redis: deps.redis,
    io,
    dbTimeoutMs,
    membershipChannel: deps.keyspace.membershipChannel,
    metrics,
  });

  const receipts = new ReceiptService({
    database: deps.database,
    conversations,
    buffer: new DeliveredBuffer(deps.receiptsQueue, { windowMs: config.receiptBatchWindowMs ?? 5, maxItems: 1_000 }, (n) =>
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
    bodyMaxChars: config.bodyMaxChars,
    dbTimeoutMs,
  });
  const search = new SearchService({
    database: deps.database,
    requireMember: (conversationId, userId) => conversations.requireRole(conversationId, userId),
    metrics,
    dbTimeoutMs,
  });

  // This pod's acks, and membership changes made on other pods.
  const acks = deps.keyspace.ackChannel(podId);
  deps.eventsSubscriber.on("smessage", (channel: string, raw: string) => {
    if (channel !== acks) return;
    // Each ack is read on its own: one unreadable entry must not leave the others' senders waiting.
    const batch = decodeAckBatch(raw);
    if (!batch) return logger.debug({ channel }, "unreadable ack batch dropped");
    for (const ack of batch.acks) pending.settle(ack);
    if (batch.unreadable > 0) logger.debug({ channel, unreadable: batch.unreadable }, "unreadable acks dropped");
  });
  deps.eventsSubscriber.on("message", (channel: string, raw: string) => {
    if (channel !== deps.keyspace.membershipChannel) return;
    const change = MembershipChangeSchema.safeParse(safeJson(raw));
    if (change.success) membership.invalidate(change.data.conversationId, change.data.userIds);
  });
  await deps.eventsSubscriber.ssubscribe(acks);
  await deps.eventsSubscriber.subscribe(deps.keyspace.membershipChannel);
  // After a reconnect, cached answers may have missed invalidations.
  deps.eventsSubscriber.on("ready", () => membership.clear());

  const realtime = createRealtime({ io, redis: deps.redis, keyspace: deps.keyspace, podId, database: deps.database, conversations, registry: deps.registry, logger, dbTimeoutMs, config });
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
    // A user moving to another pod must not find their tokens held here (a user with other
    // sockets on this pod just reserves again).
    onUserSocketGone: (userId) => {
      sendLimiter.release(userId);
      changesLimiter.release(userId);
    },
  });
  realtime.start();

  const health = createDependencyHealth({
    registry: deps.registry,
    redis: deps.redis,
    pingDatabase: () => deps.database.sql`select 1`,
    draining: () => draining,
    intervalMs: config.dependencyCheckMs ?? 5_000,
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
      await app.close().catch(() => {});
      // Unspent reservations back to the shared buckets, while Redis is still connected.
      await Promise.all([sendLimiter.close(), changesLimiter.close()]);
      await deps.eventsSubscriber.sunsubscribe(acks).catch(() => {});
    })());

  return {
    app,
    io,
    podId,
    async listen(port, host = "0.0.0.0") {
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

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
