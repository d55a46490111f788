import { Registry } from "prom-client";
import { PresenceStore } from "@parley/bus";
import { createPresenceModule, loadConfig as loadDeliveryFrom, type PresenceModule } from "@parley/delivery";
import type { ClientAck, ClientEventName, ClientPayload, ServerPayload } from "@parley/protocol";
import { createRedis, waitForReady, type Redis } from "@parley/runtime";
import { testLogger } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";
import type { ClientSocket, Cluster } from "./cluster.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadDeliveryConfig = (env: Record<string, string | undefined>) => loadDeliveryFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

const logger = testLogger();

/**
 * The delivery service's presence module running inside the test process against the
 * cluster's Redis namespace and database (the real module, real Redis, real Postgres).
 */
export async function startPresence(cluster: Cluster, config: { ttlMs?: number; flushMs?: number; offlineGraceMs?: number } = {}) {
  // The contract's defaults, except a quicker flush and no offline grace, unless a test says otherwise.
  const { presence } = loadDeliveryConfig({ PRESENCE_TTL_MS: "20000", PRESENCE_FLUSH_MS: "200", PRESENCE_OFFLINE_GRACE_MS: "0" });
  const redis: Redis = createRedis({ url: testInfra().redisUrl, name: "delivery:presence", role: "producer", logger });
  await waitForReady(redis);
  const registry = new Registry();
  const module: PresenceModule = createPresenceModule({
    publishRedis: redis,
    database: cluster.database,
    registry,
    logger,
    keyspace: cluster.keyspace,
    config: { ...presence, ...config },
  });
  return {
    ...module,
    redis,
    registry,
    store: new PresenceStore(redis, cluster.keyspace),
    async close() {
      await module.stop();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** Emits a client event and resolves with its ack. */
export function ask<E extends ClientEventName>(socket: ClientSocket, event: E, payload: ClientPayload<E>, timeoutMs = 5_000): Promise<ClientAck<E>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event} within ${timeoutMs} ms`)), timeoutMs);
    const emit = socket.emit.bind(socket) as (e: string, p: unknown, cb: (a: ClientAck<E>) => void) => void;
    emit(event, payload, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

type Presence = ServerPayload<"presence">;
type Typing = ServerPayload<"typing">;

/** Records every presence and typing event a socket hears, with when it arrived. */
export function listen(socket: ClientSocket) {
  const presence: (Presence & { at: number })[] = [];
  const typing: (Typing & { at: number })[] = [];
  socket.on("presence", (p) => presence.push({ ...p, at: Date.now() }));
  socket.on("typing", (t) => typing.push({ ...t, at: Date.now() }));
  return {
    presence,
    typing,
    presenceOf: (userId: string) => presence.filter((p) => p.userId === userId),
    typingOf: (userId: string) => typing.filter((t) => t.userId === userId),
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds (or throws after `timeoutMs`). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`${what} not met within ${timeoutMs} ms`);
}

/** Closes a client socket and waits until the server side has seen it go. */
export async function hangUp(socket: ClientSocket): Promise<void> {
  socket.disconnect();
  await sleep(50);
}
