import { PresenceStore, type Keyspace } from "@parley/bus";
import type { Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import type { ConversationService } from "./conversations/conversation-service.js";
import type { BlockService } from "./safety/block-service.js";
import type { DbGuard } from "./guard-db.js";
import type { GatewayConfig } from "./env.js";
import { createPresenceMetrics } from "./presence/metrics.js";
import { PresenceQuery } from "./presence/presence-query.js";
import { PresenceTracker } from "./presence/presence-tracker.js";
import type { SocketLifecycleHook } from "./socket/lifecycle.js";
import type { ParleyServer } from "./socket/types.js";
import { createTypingMetrics } from "./typing/metrics.js";
import { PressureGate } from "./typing/pressure-gate.js";
import { TypingService } from "./typing/typing-service.js";

export interface RealtimeDeps {
  io: ParleyServer;
  /** The fail-fast producer connection (presence scripts run on it). */
  redis: Redis;
  keyspace: Keyspace;
  podId: string;
  database: Database;
  conversations: ConversationService;
  blocks: Pick<BlockService, "separatedFrom">;
  registry: Registry;
  logger: Logger;
  dbGuard: DbGuard;
  config: Pick<GatewayConfig, "presence" | "typing">;
}

/**
 * Presence (this pod's socket counts in Redis, `presence:query`) and typing (fanned out,
 * throttled, expired, shed under pressure, never stored). Both follow sockets through
 * `socketHook`, one of the pod's socket lifecycle hooks (app.ts).
 */
export function createRealtime(deps: RealtimeDeps) {
  const { io, config } = deps;
  const store = new PresenceStore(deps.redis, deps.keyspace);
  const tracker = new PresenceTracker({
    store,
    redis: deps.redis,
    podId: deps.podId,
    heartbeatMs: config.presence.heartbeatMs,
    logger: deps.logger,
    metrics: createPresenceMetrics(deps.registry),
  });
  const typingMetrics = createTypingMetrics(deps.registry);
  const gate = new PressureGate({ maxDelayMs: config.typing.shedLoopDelayMs }).start((delayMs) => typingMetrics.loopDelay.set(delayMs / 1000));
  const typing = new TypingService({
    io,
    conversations: deps.conversations,
    gate,
    blocks: deps.blocks,
    metrics: typingMetrics,
    config: { throttleMs: config.typing.throttleMs, timeoutMs: config.typing.timeoutMs },
  });
  const presence = new PresenceQuery({ database: deps.database, store, logger: deps.logger, dbGuard: deps.dbGuard, blocks: deps.blocks });

  /** This pod's socket count per user (presence), and typing ended for a user whose last socket left. */
  const socketHook: SocketLifecycleHook = {
    connected: (socket) => tracker.socketConnected(socket.data.userId),
    disconnected: (socket) => {
      const userId = socket.data.userId;
      tracker.socketDisconnected(userId);
      if (tracker.sockets(userId) === 0) typing.userGone(userId);
    },
  };

  return {
    typing,
    presence,
    socketHook,
    /** Starts the presence heartbeat. */
    start() {
      tracker.start();
    },
    /** After the sockets are closed: this pod's users stop counting here at once, not after the TTL. */
    async close() {
      await tracker.close();
      typing.close();
      gate.stop();
    },
  };
}
