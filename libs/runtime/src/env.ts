import { z } from "zod";
import { redisTopologyOf } from "./redis-topology.js";

/** Comma-separated list → trimmed, non-empty entries. */
export const csv = z
  .string()
  .transform((s) => s.split(",").map((p) => p.trim()).filter((p) => p.length > 0));

/** An optional string where an empty value means unset. */
const emptyIsUnset = z
  .string()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

/**
 * The settings every service shares (protocol.md, "Configuration"). Each service's own
 * env.ts extends this and is the only place that reads `process.env`.
 */
export const CommonEnv = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  /**
   * Redis: the persist stream, queues, pub/sub, rate limits and presence; it must run with
   * maxmemory-policy noeviction. Exactly one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS
   * (protocol.md, "Redis topologies"); none has a default, because a pod pointed at a guessed
   * Redis would split the cluster's state (commonConfig refuses zero forms and two forms).
   * REDIS_URL: one server or a managed single endpoint (`redis://` or `rediss://`).
   */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: "REDIS_URL must be a redis:// or rediss:// URL" }).optional(),
  /** Seed nodes (`host:port,…`) of a Redis Cluster; the rest of the cluster is discovered from them. */
  REDIS_CLUSTER_NODES: csv.optional(),
  /** Sentinels (`host:port,…`) that watch the master named by REDIS_SENTINEL_NAME. */
  REDIS_SENTINELS: csv.optional(),
  /** The master the Sentinels monitor (its name in `sentinel monitor <name> …`). */
  REDIS_SENTINEL_NAME: z.string().min(1).optional(),
  /**
   * ACL user for REDIS_CLUSTER_NODES / REDIS_SENTINELS (a REDIS_URL carries its own); absent or
   * empty: `default`. Empty counts as unset because the Kubernetes Secret shared with KEDA may
   * carry an empty key (docs/operations.md).
   */
  REDIS_USERNAME: emptyIsUnset,
  /** Password for REDIS_CLUSTER_NODES / REDIS_SENTINELS (given to the data nodes, not to the Sentinels); empty: none. */
  REDIS_PASSWORD: emptyIsUnset,
  /**
   * TLS to Redis: with REDIS_URL it turns `redis://` into `rediss://` (a `rediss://` URL is TLS
   * whatever this says), for platforms that hand out a plain host URL and a separate TLS switch;
   * with REDIS_CLUSTER_NODES or REDIS_SENTINELS every connection (Sentinels included) uses TLS.
   * The server's certificate is verified against Node's CAs plus NODE_EXTRA_CA_CERTS.
   */
  REDIS_TLS: z.stringbool().default(false),
  /** The durable store: a message is acked only once committed here. */
  DATABASE_URL: z.url().default("postgres://parley:parley@127.0.0.1:5432/parley"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Names this process in logs, metrics and the ack channel; Kubernetes sets it to the pod name. */
  POD_NAME: z.string().min(1).max(200).optional(),
  /**
   * How often Redis and Postgres are checked for `parley_up` and `parley_ready`, whether or not
   * anything probes `/readyz`: the gauges fall within this of an outage and come back by themselves.
   */
  DEPENDENCY_CHECK_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
});

/** Turns a zod failure into one readable start-up error listing every bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): z.infer<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
  throw new Error(`invalid configuration:\n${lines.join("\n")}`);
}


/**
 * The shared settings as every service's config carries them (`config.common`): parsed once
 * by the service's env.ts, fully defaulted, read by the wiring without fallbacks of its own.
 * `podName` names this process in logs, metrics and Redis client names; each service passes
 * the name it goes by when Kubernetes sets no POD_NAME.
 */
export function commonConfig(env: z.infer<typeof CommonEnv>, defaultPodName: string) {
  return {
    nodeEnv: env.NODE_ENV,
    /** The Redis topology every connection of the service is opened from (createRedis). */
    redis: redisTopologyOf(env),
    databaseUrl: env.DATABASE_URL,
    logLevel: env.LOG_LEVEL,
    podName: env.POD_NAME ?? defaultPodName,
    dependencyCheckMs: env.DEPENDENCY_CHECK_MS,
  } as const;
}
export type CommonConfig = ReturnType<typeof commonConfig>;

/**
 * The well-known HS256 secret of development starts (`npm start`, the web example's dev token).
 * Every tool that signs or checks a development token reads it from here; a production start
 * refuses it (the gateway's env.ts), so the dev Kubernetes overlay makes a random one instead.
 */
export const DEV_JWT_SECRET = "parley-dev-secret-change-me";
