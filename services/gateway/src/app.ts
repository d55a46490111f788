import { randomBytes } from "node:crypto";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import { Server } from "socket.io";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { Queue } from "bullmq";
import { appendPersistEntry, PresenceStore, readPersistBacklog, type Keyspace } from "@parley/bus";
import { activeBan, appendAudit, blockRelationsOf, conversationIdsOf, memberRole, upsertUser, type Database, type StoredBan } from "@parley/db";
import { ParleyError } from "@parley/protocol";
import { createDependencyHealth, type Logger, type Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import type { TokenVerifier } from "./auth/token-verifier.js";
import { UserRecords } from "./auth/user-records.js";
import { ConversationService } from "./conversations/conversation-service.js";
import { MembershipCache } from "./conversations/membership-cache.js";
import { MembershipInvalidation } from "./conversations/membership-invalidation.js";
import { runDrain } from "./drain.js";
import type { GatewayConfig } from "./env.js";
import { DbGuard } from "./guard-db.js";
import { MembershipLookupBudget } from "./conversations/membership-lookup-budget.js";
import { registerCors } from "./http/cors.js";
import { httpsServerFactory } from "./http/https-server.js";
import { installErrorHandler } from "./http/error-handler.js";
import { registerRoutes, userOf } from "./http/routes.js";
import { registerAdminRoutes } from "./http/admin-routes.js";
import { registerDataLifecycleRoutes } from "./http/data-lifecycle-routes.js";
import { ExportStreams } from "./data-lifecycle/export-stream.js";
import { ErasureJobs } from "./data-lifecycle/erasure-jobs.js";
import { createModerationMetrics } from "./moderation/moderation-metrics.js";
import { ModerationWebhook } from "./moderation/moderation-webhook.js";
import { createEventQueueMetrics, noEvents, queueEventPublisher } from "./webhooks/event-publisher.js";
import { safetyEventsToWebhook } from "./webhooks/safety-webhook-events.js";
import { requireAdmin } from "./auth/roles.js";
import { MessageChangeService } from "./messages/message-change-service.js";
import { SearchService } from "./messages/search-service.js";
import { createGatewayMetrics } from "./metrics.js";
import { createRealtime } from "./realtime.js";
import { DeliveredBuffer } from "./receipts/delivered-buffer.js";
import { ReceiptService } from "./receipts/receipt-service.js";
import { AckListener } from "./send/ack-listener.js";
import { PendingAcks } from "./send/pending-acks.js";
import { PersistAdmission } from "./send/persist-admission.js";
import { SendBuffer } from "./send/send-buffer.js";
import { PartitionedSendBuffer } from "./send/partitioned-send-buffer.js";
import { SendService } from "./send/send-service.js";
import { attachSockets } from "./socket/attach.js";
import { RoomSync } from "./socket/room-sync.js";
import { createMemberAddLimiter } from "./conversations/member-add-limiter.js";
import { createHandlers } from "./socket/handlers.js";
import { registerHttpLimits } from "./limits/http-limits.js";
import { createLimitMetrics } from "./limits/metrics.js";
import { RateLimiter } from "./limits/rate-limiter.js";
import { createTokenBuckets } from "./limits/token-buckets.js";
import { EventGate } from "./socket/event-gate.js";
import { clientAddressResolver } from "./socket/client-address.js";
import { SocketCaps } from "./socket/socket-caps.js";
import { createSocketLimits } from "./socket/socket-limits.js";
import type { SocketLifecycleHook } from "./socket/lifecycle.js";
import { ResyncAfterGap } from "./socket/resync-after-gap.js";
import type { ParleyServer } from "./socket/types.js";
import { BanService } from "./safety/ban-service.js";
import { BlockService, type BlockState } from "./safety/block-service.js";
import { createSafetyMetrics } from "./safety/metrics.js";
import { MuteService } from "./safety/mute-service.js";
import { ReportService } from "./safety/report-service.js";
import { loggedSafetyEvents } from "./safety/safety-events.js";
import { SAFETY_CACHE_TTL_MS, UserStateCache } from "./safety/user-state-cache.js";

export interface GatewayDeps {
  /**
   * env.ts `loadConfig()`: fully defaulted; nothing here writes a default of its own. Of the
   * auth settings only the clock tolerance (the socket expiry timer); the keys go to `verify`.
   */
  config: Omit<GatewayConfig, "auth"> & { auth: Pick<GatewayConfig["auth"], "clockToleranceS"> };
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
  /** Certificate and key (PEM): HTTPS and WSS on the same port instead of plain HTTP (server.ts reads TLS_CERT_FILE/TLS_KEY_FILE). */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Tests only: pauses that make races happen in one order (never set in server.ts). */
  testHooks?: {
    /** Runs in a socket handshake once the user's conversations were read, before it goes on. */
    afterMembershipRead?: (userId: string) => Promise<void>;
  };
}

export interface Gateway {
  app: FastifyInstance;
  io: ParleyServer;
  podId: string;
  /** Resolves with the bound port (port 0 picks a free one). */
  listen(port: number, host: string): Promise<number>;
  /** SIGTERM: not ready and refusing new sockets for DRAIN_DELAY_MS, then local sockets closed in jittered batches, then close. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Builds the gateway: Fastify for HTTP, Socket.IO on the same server. `server.ts` only listens. */
export async function buildApp(deps: GatewayDeps): Promise<Gateway> {
  const { config, logger } = deps;
  const podId = `${config.common.podName}-${randomBytes(4).toString("hex")}`;
  const metrics = createGatewayMetrics(deps.registry);
  const dbGuard = new DbGuard({
    timeoutMs: config.database.timeoutMs,
    maxActive: config.database.poolSize,
    maxWaiting: config.database.queueMax,
    metrics,
  });
  let draining = false;

  const app = Fastify({ loggerInstance: logger.child({ component: "http" }) as FastifyBaseLogger, bodyLimit: config.limits.frameMaxBytes,
    // Per-request lines would dwarf everything else at chat rates; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // The same rule as the sockets' address (socket/client-address.ts).
    trustProxy: config.limits.trustedProxies.length > 0 ? [...config.limits.trustedProxies] : false,
    // Socket.IO attaches to the same server, so TLS covers the API and the WebSocket alike.
    ...(deps.tls ? { serverFactory: httpsServerFactory(deps.tls) } : {}),
  });
  installErrorHandler(app, logger);

  const allowOrigin = (origin: string | undefined) =>
    origin === undefined || config.http.corsOrigins.includes("*") || config.http.corsOrigins.includes(origin);

  await registerCors(app, allowOrigin);

  const io: ParleyServer = new Server(app.server, {
    // A frame past FRAME_MAX_BYTES (64 KiB) is refused by the transport before it is read whole or parsed (the
    // WebSocket is closed with 1009, a polling POST answered 413). An event split over several
    // frames (Buffers) is measured whole in socket/attach.ts and answered PAYLOAD_TOO_LARGE.
    maxHttpBufferSize: config.limits.frameMaxBytes,
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

  const lookupBudget = new MembershipLookupBudget({ perSecond: config.database.membershipLookupsPerSecond, refused: metrics.membershipLookupsRefused });
  const membership = new MembershipCache(lookupBudget.wrap((conversationId, userId) => memberRole(deps.database.sql, conversationId, userId)));
  const rooms = new RoomSync({ io, database: deps.database, dbGuard, logger });
  // Safety state read on hot paths (typing, presence, direct sends; every handshake and HTTP
  // request for bans), cached per pod and dropped cluster-wide with membership's answers.
  const blockCache = new UserStateCache<BlockState>(async (userId) => {
    const r = await blockRelationsOf(deps.database.sql, userId);
    return { blocks: new Set(r.blocks), blockedBy: new Set(r.blockedBy) };
  }, SAFETY_CACHE_TTL_MS);
  const banCache = new UserStateCache<StoredBan | undefined>((userId) => activeBan(deps.database.sql, userId), SAFETY_CACHE_TTL_MS);
  const invalidation = new MembershipInvalidation({
    cache: membership,
    userCaches: { blocks: blockCache, ban: banCache },
    publisher: deps.redis,
    subscriber: deps.eventsSubscriber,
    channel: deps.keyspace.membershipChannel,
    logger,
    onChange: (change) => rooms.changed(change.conversationId, change.userIds),
    // Called only once messages arrive (after start()), when `bans` exists.
    onSafetyChange: (change) => {
      if (change.scope === "ban") bans.enforce(change.userIds);
    },
  });
  const safetyMetrics = createSafetyMetrics(deps.registry);
  // Queues of the delivery service's workers, on the fail-fast connection: an add during a Redis
  // outage fails at once (events are counted lost; an erasure request answers 503).
  const eventsQueue = config.events.enabled ? new Queue("events", { connection: deps.redis, prefix: deps.keyspace.queuePrefix }) : undefined;
  const erasureQueue = new Queue("erasure", { connection: deps.redis, prefix: deps.keyspace.queuePrefix });
  for (const q of [eventsQueue, erasureQueue]) q?.on("error", (err) => logger.debug({ err: err.message, queue: q.name }, "queue error"));
  const eventQueueMetrics = createEventQueueMetrics(deps.registry);
  const events = eventsQueue ? queueEventPublisher({ queue: eventsQueue, logger, queued: eventQueueMetrics }) : noEvents;
  // The one place safety events (report.created, user.banned) leave the gateway: logged, and
  // queued for the events webhook when one is configured.
  const safetyEvents = safetyEventsToWebhook(loggedSafetyEvents(logger), events);
  const blocks = new BlockService({ database: deps.database, cache: blockCache, invalidation, io, dbGuard, metrics: safetyMetrics });
  const bans = new BanService({ database: deps.database, cache: banCache, invalidation, io, dbGuard, metrics: safetyMetrics, events: safetyEvents, logger });
  const mutes = new MuteService({ database: deps.database, dbGuard });
  const pending = new PendingAcks(config.send.timeoutMs);
  // One window per persist partition: a conversation's sends always go to its partition's stream.
  const buffer = new PartitionedSendBuffer(
    config.send.persistPartitions,
    (partition) =>
      new SendBuffer(
        (replyTo, items) => appendPersistEntry(deps.redis, deps.keyspace.persistPartition(partition), { replyTo, items }, config.send.persistStreamMaxLen),
        podId,
        (items, err) => {
          logger.warn({ err: String(err), items: items.length, partition }, "enqueue failed");
          pending.fail(items, new ParleyError("UNAVAILABLE", "the persist stream is out of reach; retry later"));
        },
        (n) => metrics.enqueuedMessages.inc(n),
        { windowMs: config.send.batchWindowMs, maxItems: 500, maxInFlight: 1 },
      ),
  );
  const limitMetrics = createLimitMetrics(deps.registry);
  const limiter = new RateLimiter(createTokenBuckets(deps.redis), {
    keyPrefix: deps.keyspace.rateLimitPrefix,
    budgets: config.limits.budgets,
    timeoutMs: config.send.timeoutMs,
    onRefused: (cls, where) => limitMetrics.refused.inc({ class: cls, where }),
    onCall: (buckets) => {
      limitMetrics.calls.inc();
      limitMetrics.buckets.inc(buckets);
    },
  });
  const { stalledConsumerMs, ...admissionBudget } = config.send.admission;
  const admission = new PersistAdmission({ ...admissionBudget, partitions: config.send.persistPartitions }, {
    read: (partition) => readPersistBacklog(deps.redis, deps.keyspace.persistPartition(partition), stalledConsumerMs),
    metrics,
    logger,
  });
  await admission.start();
  const moderationMetrics = createModerationMetrics(deps.registry);
  const moderation = config.moderation
    ? new ModerationWebhook(config.moderation, { metrics: moderationMetrics, logger }, config.send.bodyMaxChars)
    : undefined;
  const send = new SendService({
    moderation,
    admission,
    rateLimiter: limiter.for("send"),
    membership,
    buffer,
    pending,
    metrics,
    bodyMaxChars: config.send.bodyMaxChars,
    dbGuard,
    deadlineMs: config.send.timeoutMs,
    blocks,
    // After the ack: the message is committed whatever becomes of its audit line.
    onServiceSend: (sender, message) => {
      dbGuard
        .run(() =>
          appendAudit(deps.database.sql, {
            actorId: sender.userId,
            actorRole: sender.role,
            action: "message.system_send",
            targetKind: "conversation",
            targetId: message.conversationId,
            details: { messageId: message.id },
          }),
        )
        .catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err), messageId: message.id }, "audit line of a service send not written"));
    },
  });
  const conversations = new ConversationService({
    database: deps.database,
    blocks,
    membership,
    invalidation,
    io,
    dbGuard,
    metrics,
    limits: { maxMembers: config.membership.maxMembers, maxConversationsPerUser: config.membership.maxConversationsPerUser },
    addLimiter: createMemberAddLimiter(deps.redis, {
      keyPrefix: deps.keyspace.memberAddRateLimitPrefix,
      perMinute: config.membership.addsPerMinute,
      onRefused: () => metrics.membershipLimited.inc({ limit: "member_adds_per_minute" }),
    }),
    events,
  });

  const receipts = new ReceiptService({
    database: deps.database,
    conversations,
    buffer: new DeliveredBuffer(deps.receiptsQueue, { windowMs: config.receipts.batchWindowMs, maxItems: 1_000 }, (n) =>
      metrics.deliveredEnqueued.inc(n),
    ),
    io,
    logger,
    dbGuard,
    roomMaxMembers: config.receipts.roomMaxMembers,
    onNarrowed: (n) => metrics.receiptsNarrowed.inc(n),
  });
  const changes = new MessageChangeService({
    database: deps.database,
    io,
    rateLimiter: limiter.for("changes"),
    bodyMaxChars: config.send.bodyMaxChars,
    dbGuard,
    events,
  });
  const reports = new ReportService({ database: deps.database, dbGuard, metrics: safetyMetrics, events: safetyEvents, changes, bans });
  const search = new SearchService({
    database: deps.database,
    requireMember: (conversationId, userId) => conversations.requireRole(conversationId, userId),
    metrics,
    dbGuard,
    maxRows: config.search.maxRows,
  });

  // The send's return leg (this pod's acks), and membership changes made on other pods.
  const acks = new AckListener({ subscriber: deps.eventsSubscriber, channel: deps.keyspace.ackChannel(podId), pending, logger });
  await acks.start();
  await invalidation.start();

  const realtime = createRealtime({ io, redis: deps.redis, keyspace: deps.keyspace, podId, database: deps.database, conversations, blocks, registry: deps.registry, logger, dbGuard, config });
  // The pod's one list of socket hooks (socket/lifecycle.ts), run in this order on connect and
  // on disconnect, after attach.ts's own bookkeeping (rooms, expiry, socket gauges).
  const socketHooks: SocketLifecycleHook[] = [realtime.socketHook];
  const presenceCounts = new PresenceStore(deps.redis, deps.keyspace);
  const socketLimits = createSocketLimits({
    caps: new SocketCaps({
      maxPerUser: config.limits.socketsPerUserMax,
      maxPerIp: config.limits.socketsPerIpMax,
      clusterSockets: (userId) => presenceCounts.sockets(userId),
      onRefused: (cap) => limitMetrics.socketCapRefused.inc({ cap }),
      onAddresses: (n) => limitMetrics.socketAddresses.set(n),
      logger,
    }),
    gate: new EventGate({ limiter, maxInFlight: config.limits.eventsInFlightMax, onOverCap: () => limitMetrics.inFlightRefused.inc() }),
    sendBufferMaxBytes: config.limits.sendBufferMaxBytes,
    frameMaxBytes: config.limits.frameMaxBytes,
    clientAddress: clientAddressResolver(config.limits.trustedProxies),
    onSlowConsumer: () => limitMetrics.slowConsumers.inc(),
    onOversizedFrame: () => limitMetrics.oversizedFrames.inc(),
  });
  const users = new UserRecords((userId, name) => dbGuard.run(() => upsertUser(deps.database.sql, userId, name)));
  attachSockets({
    io,
    users,
    verify: deps.verify,
    database: deps.database,
    handlers: createHandlers({ send, conversations, receipts, verify: deps.verify, changes, typing: realtime.typing, presence: realtime.presence, blocks, mutes, reports }),
    bans,
    blocks,
    metrics,
    logger,
    dbGuard,
    hooks: socketHooks,
    limits: socketLimits,
    rooms,
    clockToleranceS: config.auth.clockToleranceS,
    afterMembershipRead: deps.testHooks?.afterMembershipRead,
  });
  realtime.start();
  // A gap in the adapter's subscription: rooms re-checked, sockets told to sync.
  const resync = new ResyncAfterGap({
    io,
    subscriber: deps.adapterSubscriber,
    conversationIdsOf: (userId) => dbGuard.run(() => conversationIdsOf(deps.database.sql, userId)),
    registry: deps.registry,
    logger,
  });
  resync.start();

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
  registerHttpLimits(app, limiter);
  await registerRoutes(app, { verify: deps.verify, conversations, receipts, send, users, search, bans, blocks, mutes, reports });
  await registerAdminRoutes(app, { database: deps.database, reports, bans, dbGuard });
  await registerDataLifecycleRoutes(app, {
    exports: new ExportStreams({ database: deps.database, logger, cursorRows: config.export.cursorRows, maxConcurrent: config.export.maxConcurrent, timeoutMs: config.export.timeoutMs }),
    erasures: new ErasureJobs(erasureQueue),
    requireAdmin: (req) => {
      const user = userOf(req);
      requireAdmin(user);
      return user;
    },
    userOf,
    audit: (entry) => dbGuard.run(() => appendAudit(deps.database.sql, entry)),
  });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      health.stop();
      await resync.stop();
      await new Promise<void>((resolve) => io.close(() => resolve()));
      await realtime.close();
      admission.close();
      await app.close().catch(() => {});
      limiter.close();
      await acks.close();
      await invalidation.close();
      await Promise.allSettled([eventsQueue?.close(), erasureQueue.close()]);
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
      const stopAccepting = () => {
        draining = true;
        logger.info({ sockets: io.of("/").sockets.size, delayMs: config.drainDelayMs }, "draining: not ready, refusing new sockets");
      };
      await runDrain({ stopAccepting, namespace: io.of("/"), close }, { graceMs: config.shutdownGraceMs, delayMs: config.drainDelayMs });
    },
    close,
  };
}
