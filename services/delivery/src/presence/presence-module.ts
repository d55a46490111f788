import { PresenceStore, RoomEmitter, type Keyspace } from "@parley/bus";
import type { Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { Registry } from "prom-client";
import { createAnnouncerMetrics } from "./metrics.js";
import { PresenceAnnouncer, type PresenceAnnouncerConfig } from "./presence-announcer.js";

export interface PresenceModuleDeps {
  /** Fail-fast connection: scripts and publishes (an outage fails a tick, the next retries). */
  publishRedis: Redis;
  database: Database;
  registry: Registry;
  logger: Logger;
  keyspace: Keyspace;
  config: PresenceAnnouncerConfig;
}

/** The delivery service's presence module: sweeps dead gateway pods and announces changes. */
export function createPresenceModule(deps: PresenceModuleDeps) {
  const announcer = new PresenceAnnouncer({
    store: new PresenceStore(deps.publishRedis, deps.keyspace),
    emitter: new RoomEmitter(deps.publishRedis, deps.keyspace.adapterChannelPrefix),
    database: deps.database,
    logger: deps.logger.child({ component: "presence" }),
    metrics: createAnnouncerMetrics(deps.registry),
    config: deps.config,
  });
  return {
    name: "presence",
    announcer,
    start: () => announcer.start(),
    stop: () => announcer.stop(),
  };
}
export type PresenceModule = ReturnType<typeof createPresenceModule>;
