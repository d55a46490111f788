import { PresenceStore, type Keyspace } from "@parley/bus";
import type { Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import type { ConversationService } from "./conversation-service.js";
import { createPresenceMetrics } from "./presence/metrics.js";
import { PresenceQuery } from "./presence/presence-query.js";
import { PresenceTracker } from "./presence/presence-tracker.js";
import type { ParleyServer } from "./socket/attach.js";
import { createTypingMetrics } from "./typing/metrics.js";
import { PressureGate } from "./typing/pressure-gate.js";
import { TypingService, type TypingConfig } from "./typing/typing-service.js";

export interface RealtimeDeps {
  io: ParleyServer;
  /** The fail-fast producer connection (presence scripts run on it). */
  redis: Redis;
  keyspace: Keyspace;
  podId: string;
  database: Database;
  conversations: ConversationService;
  registry: Registry;
  logger: Logger;
  dbTimeoutMs: number;
  config: {
    presenceHeartbeatMs?: number | undefined;
    typing?: Partial<TypingConfig> | undefined;
    typingShedLoopDelayMs?: number | undefined;
  };
}

/**
 * Presence (this pod's socket counts in Redis, `presence:query`) and typing (fanned out,
 * throttled, expired, shed under pressure, never stored). `start()` after `attachSockets`,
 * so sockets reach this `connection` listener authenticated and in their rooms.
 */
export function createRealtime(deps: RealtimeDeps) {
  const { io, config } = deps;
  const store = new PresenceStore(deps.redis, deps.keyspace);
  const tracker = new PresenceTracker({
    store,
    redis: deps.redis,
    podId: deps.podId,
    heartbeatMs: config.presenceHeartbeatMs ?? 5_000,
    logger: deps.logger,
    metrics: createPresenceMetrics(deps.registry),
  });
  const typingMetrics = createTypingMetrics(deps.registry);
  const gate = new PressureGate({ maxDelayMs: config.typingShedLoopDelayMs ?? 100 }).start((delayMs) => typingMetrics.loopDelay.set(delayMs / 1000));
  const typing = new TypingService({
    io,
    conversations: deps.conversations,
    gate,
    metrics: typingMetrics,
    config: { throttleMs: 3_000, timeoutMs: 6_000, ...config.typing },
  });
  const presence = new PresenceQuery({ database: deps.database, store, logger: deps.logger, dbTimeoutMs: deps.dbTimeoutMs });

  return {
    typing,
    presence,
    start() {
      io.on("connection", (socket) => {
        const userId = socket.data.userId;
        tracker.socketConnected(userId);
        socket.on("disconnect", () => {
          tracker.socketDisconnected(userId);
          if (tracker.sockets(userId) === 0) typing.userGone(userId);
        });
      });
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
