import { Queue } from "bullmq";
import { Registry } from "prom-client";
import { io as connectClient, type Socket } from "socket.io-client";
import { createKeyspace } from "@parley/bus";
import { createDatabase as openDatabase, type Database } from "@parley/db";
import { buildDelivery, loadConfig as loadDeliveryFrom, type Delivery, type DeliveryConfig, type Notifier } from "@parley/delivery";
import { buildApp, createTokenVerifier, jwksStateReporter, loadConfig as loadGatewayFrom, type Gateway } from "@parley/gateway";
import { buildPersister, loadConfig as loadPersisterFrom, type Persister } from "@parley/persister";
import type { ClientToServerEvents, Conversation, ServerToClientEvents } from "@parley/protocol";
import { createRedis, waitForReady, type Logger, type Redis } from "@parley/runtime";
import { createDatabase, signToken, testLogger } from "@parley/testkit";
import { testInfra, uniqueRedisPrefix } from "@parley/testkit/vitest";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so the URL only satisfies that check.
type Env = Record<string, string | undefined>;
const withRedis = (env: Env): Env => ({ REDIS_URL: "redis://127.0.0.1:6379", ...env });
const loadConfig = (env: Env) => loadGatewayFrom(withRedis(env));
const loadDeliveryConfig = (env: Env) => loadDeliveryFrom(withRedis(env));
const loadPersisterConfig = (env: Env) => loadPersisterFrom(withRedis(env));

export const SECRET = "cluster-test-secret-0123456789";
export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface ClusterOptions {
  gateways?: number;
  /** Defaults: the run's shared servers. Outage tests pass servers of their own. */
  redisUrl?: string;
  adminDatabaseUrl?: string;
  /** Gateway settings as environment variables (services/gateway/src/env.ts), over the cluster's own. */
  gatewayEnv?: Record<string, string>;
  /** Settings of gateway i only, over gatewayEnv (pods configured differently). */
  gatewayEnvOf?: (i: number) => Record<string, string>;
  /** Test hooks of gateway i (GatewayDeps.testHooks): pauses that make a race happen in one order. */
  gatewayHooks?: (i: number) => Parameters<typeof buildApp>[0]["testHooks"];
  verifier?: Parameters<typeof createTokenVerifier>[0];
  /** Start the persister (default true). */
  persister?: boolean;
  /** Start the delivery service (default false), with this notifier (none: notifications off). */
  delivery?: {
    notifier?: Notifier;
    logger?: Logger;
    config?: { receipts?: Partial<DeliveryConfig["receipts"]>; notifications?: Partial<DeliveryConfig["notifications"]>; presence?: Partial<DeliveryConfig["presence"]> };
    /** Delivery settings as environment variables (services/delivery/src/env.ts), over the cluster's own. */
    env?: Record<string, string>;
  };
}

interface GatewayNode {
  gateway: Gateway;
  url: string;
  database: Database;
  redis: Redis[];
  /** The adapter's subscriber: what this pod receives from the cluster. */
  adapterSubscriber: Redis;
  receiptsQueue: Queue;
  /** This gateway's /metrics registry. */
  registry: Registry;
}

const logger = testLogger();

/**
 * A whole Parley cluster inside the test process: N gateways (each with its own connections,
 * as separate pods would have) and a persister, against real Redis and Postgres, under a
 * Redis namespace and a database of its own so test files never see each other.
 */
export async function startCluster(options: ClusterOptions = {}) {
  const infra = options.redisUrl && options.adminDatabaseUrl ? undefined : testInfra();
  const redisUrl = options.redisUrl ?? infra!.redisUrl;
  const testDb = await createDatabase(options.adminDatabaseUrl ?? infra!.databaseUrl);
  const keyspace = createKeyspace(uniqueRedisPrefix("cluster"));
  const closers: (() => Promise<unknown>)[] = [];
  const redisConn = (name: string, role: "producer" | "consumer" | "subscriber") => {
    const r = createRedis({ url: redisUrl, name, role, logger });
    closers.push(() => r.quit().catch(() => r.disconnect()));
    return r;
  };
  const database = openDatabase({ url: testDb.url, max: 4 });
  const deliveryRegistry = new Registry();
  const persisterRegistry = new Registry();

  const nodes: GatewayNode[] = [];
  for (let i = 0; i < (options.gateways ?? 2); i++) {
    const redis = redisConn(`gw${i}`, "producer");
    const adapterSubscriber = redisConn(`gw${i}:adapter`, "subscriber");
    const eventsSubscriber = redisConn(`gw${i}:events`, "subscriber");
    await Promise.all([redis, adapterSubscriber, eventsSubscriber].map((r) => waitForReady(r)));
    const receiptsQueue = new Queue("receipts", { connection: redis, prefix: keyspace.queuePrefix });
    receiptsQueue.on("error", () => {});
    const gwDatabase = openDatabase({ url: testDb.url, max: 4, connectTimeoutSeconds: 1 });
    const registry = new Registry();
    const gateway = await buildApp({
      config: loadConfig({
        POD_NAME: `gw${i}`,
        CORS_ORIGINS: "*",
        SHUTDOWN_GRACE_MS: "2000",
        RATE_LIMIT_PER_SECOND: "1000",
        RATE_LIMIT_BURST: "2000",
        // The other per-user limits as generous: tests of other things send in bursts a person
        // would not. limits.test.ts tests the limits with their defaults.
        ...Object.fromEntries(
          ["READS", "SEARCH", "TYPING", "RECEIPTS", "CONVERSATIONS", "AUTH"].flatMap((c) => [
            [`RATE_LIMIT_${c}_PER_SECOND`, "1000"],
            [`RATE_LIMIT_${c}_BURST`, "2000"],
          ]),
        ),
        SEND_TIMEOUT_MS: "1500",
        MESSAGE_BODY_MAX_CHARS: "4000",
        // Admission control refuses sends while the oldest uncommitted entry is older than this:
        // on a loaded test machine a burst's commit can pass the 250 ms default. Still under
        // SEND_TIMEOUT_MS; admission.test.ts sets its own.
        ADMISSION_MAX_PERSIST_DELAY_MS: "1000",
        // Typing is shed while the event loop lags; on a loaded test machine that would make
        // the typing tests depend on the neighbours. The gate has its own tests.
        TYPING_SHED_LOOP_DELAY_MS: "10000",
        // Every test socket comes from 127.0.0.1.
        SOCKETS_PER_IP_MAX: "0",
        ...options.gatewayEnv,
        ...options.gatewayEnvOf?.(i),
      }),
      logger,
      registry,
      database: gwDatabase,
      verify: createTokenVerifier({ ...(options.verifier ?? { secret: SECRET }), onJwksOutage: jwksStateReporter(registry, logger, options.verifier?.jwksUrl) }),
      redis,
      adapterSubscriber,
      eventsSubscriber,
      receiptsQueue,
      keyspace,
      testHooks: options.gatewayHooks?.(i),
    });
    const port = await gateway.listen(0, "127.0.0.1");
    nodes.push({ gateway, url: `http://127.0.0.1:${port}`, database: gwDatabase, redis: [redis], adapterSubscriber, receiptsQueue, registry });
  }

  let persister: Persister | undefined;
  let persisterDatabase: Database | undefined;
  if (options.persister !== false) {
    persisterDatabase = openDatabase({ url: testDb.url, max: 4, connectTimeoutSeconds: 1 });
    persister = buildPersister({
      database: persisterDatabase,
      workerRedis: redisConn("persister:worker", "consumer"),
      publishRedis: redisConn("persister:publish", "producer"),
      registry: persisterRegistry,
      logger,
      keyspace,
      config: loadPersisterConfig({ POD_NAME: "persister-0", PERSIST_MAX_BATCH: "1000", PERSIST_LANES: "4", PERSIST_COMMIT_INTERVAL_MS: "0" }),
    });
    persister.run();
  }

  let delivery: Delivery | undefined;
  let deliveryDatabase: Database | undefined;
  if (options.delivery) {
    deliveryDatabase = openDatabase({ url: testDb.url, max: 4, connectTimeoutSeconds: 1 });
    const c = options.delivery.config;
    // The contract's presence defaults, except a quicker flush so tests hear changes sooner.
    const base = loadDeliveryConfig({
      RECEIPT_CONCURRENCY: "16",
      RECEIPT_MAX_BATCH: "5000",
      PUSH_COLLAPSE_MS: "300",
      PUSH_ATTEMPTS: "3",
      PUSH_BACKOFF_MS: "100",
      NOTIFY_CONCURRENCY: "1",
      PUSH_CONCURRENCY: "4",
      PUSH_PREVIEW_CHARS: "140",
      PRESENCE_TTL_MS: "20000",
      PRESENCE_FLUSH_MS: "200",
      PRESENCE_OFFLINE_GRACE_MS: "0",
      ...options.delivery.env,
    });
    delivery = buildDelivery({
      database: deliveryDatabase,
      workerRedis: redisConn("delivery:worker", "consumer"),
      publishRedis: redisConn("delivery:publish", "producer"),
      registry: deliveryRegistry,
      logger: options.delivery.logger ?? logger,
      keyspace,
      config: {
        receipts: { ...base.receipts, ...c?.receipts },
        notifications: { ...base.notifications, ...c?.notifications },
        presence: { ...base.presence, ...c?.presence },
        events: base.events,
        retention: base.retention,
        erasure: base.erasure,
      },
      notifier: options.delivery.notifier,
    });
    delivery.run();
  }

  const sockets: ClientSocket[] = [];

  const cluster = {
    keyspace,
    database,
    databaseUrl: testDb.url,
    nodes,
    persister,
    delivery,
    deliveryRegistry,
    persisterRegistry,
    url: (i: number) => nodes[i]!.url,

    token: (sub: string, name?: string, extra: Partial<Parameters<typeof signToken>[0]> = {}) =>
      signToken({ sub, secret: SECRET, ...(name !== undefined ? { name } : {}), ...extra }),

    /** Connects and resolves on `session:ready`; rejects with the connect_error. */
    connect(i: number, token: string | undefined, opts: { extraHeaders?: Record<string, string> } = {}): Promise<ClientSocket> {
      const socket: ClientSocket = connectClient(nodes[i]!.url, {
        auth: token === undefined ? {} : { token },
        transports: ["websocket"],
        reconnection: false,
        forceNew: true,
        ...(opts.extraHeaders ? { extraHeaders: opts.extraHeaders } : {}),
      });
      sockets.push(socket);
      return new Promise((resolve, reject) => {
        socket.once("session:ready", () => resolve(socket));
        socket.once("connect_error", (err) => reject(err));
      });
    },

    async http(i: number, method: string, path: string, opts: { token?: string; body?: unknown; rawBody?: string } = {}) {
      const headers: Record<string, string> = {};
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      if (opts.body !== undefined || opts.rawBody !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${nodes[i]!.url}${path}`, {
        method,
        headers,
        ...(opts.rawBody !== undefined ? { body: opts.rawBody } : opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
      });
      const text = await res.text();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test helper: callers assert the shape
      const body: any = text ? JSON.parse(text) : undefined;
      return { status: res.status, body, headers: res.headers };
    },

    async createConversation(ownerToken: string, memberIds: string[], kind: "direct" | "group" | "space" = "group", title?: string): Promise<Conversation> {
      const res = await cluster.http(0, "POST", "/v1/conversations", {
        token: ownerToken,
        body: { kind, memberIds, ...(title ? { title } : {}) },
      });
      if (res.status !== 201 && res.status !== 200) throw new Error(`create conversation: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.conversation as Conversation;
    },

    async stop() {
      for (const s of sockets) s.disconnect();
      await persister?.stop();
      await delivery?.stop();
      await deliveryDatabase?.close();
      for (const n of nodes) {
        await n.gateway.close();
        await n.receiptsQueue.close().catch(() => {});
        await n.database.close();
      }
      await persisterDatabase?.close();
      await database.close();
      await Promise.allSettled(closers.map((c) => c()));
      await testDb.drop().catch(() => {});
    },
  };
  return cluster;
}

export type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** Resolves with the first `count` payloads of `event` on `socket`. */
export function collect<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  count: number,
  timeoutMs = 5_000,
): Promise<Parameters<ServerToClientEvents[E]>[0][]> {
  type P = Parameters<ServerToClientEvents[E]>[0];
  const got: P[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, on as never);
      reject(new Error(`timed out waiting for ${count} ${String(event)} (got ${got.length})`));
    }, timeoutMs);
    const on = (payload: P) => {
      got.push(payload);
      if (got.length >= count) {
        clearTimeout(timer);
        socket.off(event, on as never);
        resolve(got);
      }
    };
    socket.on(event, on as never);
  });
}

/** A gateway's metric, summed over the series whose labels match. */
export async function metric(cluster: Cluster, node: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = cluster.nodes[node]!.registry.getSingleMetric(name);
  if (!m) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want))
    .reduce((sum, v) => sum + v.value, 0);
}
