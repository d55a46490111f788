import { z } from "zod";

/**
 * The settings every service shares (protocol.md, "Configuration"). Each service's own
 * env.ts extends this and is the only place that reads `process.env`.
 */
export const CommonEnv = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  /** The persist stream, queues, pub/sub, rate limits and presence. Must run with maxmemory-policy noeviction. */
  REDIS_URL: z.url().default("redis://127.0.0.1:6379"),
  /**
   * TLS to Redis even when REDIS_URL says `redis://` (a `rediss://` URL is TLS whatever this
   * says): for platforms that hand out a plain host URL and a separate TLS switch. The server's
   * certificate is verified against Node's CAs plus NODE_EXTRA_CA_CERTS.
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

/** Comma-separated list → trimmed, non-empty entries. */
export const csv = z
  .string()
  .transform((s) => s.split(",").map((p) => p.trim()).filter((p) => p.length > 0));

/**
 * The shared settings as every service's config carries them (`config.common`): parsed once
 * by the service's env.ts, fully defaulted, read by the wiring without fallbacks of its own.
 * `podName` names this process in logs, metrics and Redis client names; each service passes
 * the name it goes by when Kubernetes sets no POD_NAME.
 */
export function commonConfig(env: z.infer<typeof CommonEnv>, defaultPodName: string) {
  return {
    nodeEnv: env.NODE_ENV,
    redisUrl: env.REDIS_TLS ? withTls(env.REDIS_URL) : env.REDIS_URL,
    databaseUrl: env.DATABASE_URL,
    logLevel: env.LOG_LEVEL,
    podName: env.POD_NAME ?? defaultPodName,
    dependencyCheckMs: env.DEPENDENCY_CHECK_MS,
  } as const;
}
export type CommonConfig = ReturnType<typeof commonConfig>;

/** `redis://…` → `rediss://…`: ioredis speaks TLS for a `rediss:` URL, so REDIS_TLS needs no option on every connection. */
const withTls = (url: string) => url.replace(/^redis:\/\//i, "rediss://");

/**
 * The well-known HS256 secret of development starts (`npm start`, the web example's dev token).
 * Every tool that signs or checks a development token reads it from here; a production start
 * refuses it (the gateway's env.ts), so the dev Kubernetes overlay makes a random one instead.
 */
export const DEV_JWT_SECRET = "parley-dev-secret-change-me";
