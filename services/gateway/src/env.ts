import { z } from "zod";
import { CommonEnv, commonConfig, csv, DEV_JWT_SECRET, parseEnv } from "@parley/runtime";
import { LIMITS } from "@parley/protocol";

const JwtAlgorithms = ["HS256", "RS256", "ES256", "EdDSA"] as const;

export const GatewayEnv = CommonEnv.extend({
  /** HTTP API and Socket.IO. */
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  /** HS256 shared secret. One of JWT_SECRET or JWT_JWKS_URL is required in production. */
  JWT_SECRET: z.string().min(16, "JWT_SECRET must be at least 16 characters").optional(),
  /** Asymmetric keys (RS256/ES256/EdDSA), fetched, cached and re-fetched on unknown key ids. */
  JWT_JWKS_URL: z.url().optional(),
  /** Checked when set. */
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** Accepted algorithms; defaults to HS256 with a secret, RS256/ES256/EdDSA with a JWKS URL. */
  JWT_ALGORITHMS: csv.pipe(z.array(z.enum(JwtAlgorithms)).min(1)).optional(),
  /** Browser origins allowed to connect; `*` allows any. Requests without Origin (apps) always pass. */
  CORS_ORIGINS: csv.default(["*"]),
  /** How long a drain may take: sockets are closed in jittered batches across it. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(LIMITS.shutdownGraceMs),
  /** Sends per user per second (every attempt counted, across pods, sockets and HTTP). */
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).default(LIMITS.sendsPerSecond),
  RATE_LIMIT_BURST: z.coerce.number().int().min(1).default(LIMITS.sendBurst),
  /**
   * A send not committed within this is answered UNAVAILABLE (the contract's 2 s, less the
   * time to answer). The stream entry may still commit; the client's retry then gets `duplicate: true`.
   */
  SEND_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(1_500),
  /**
   * Under load, persist stream entries leave at most this often and carry every send of the
   * window (an entry's cost is one XADD, one read and one XACK whatever it holds); after a
   * quiet spell a send leaves at once.
   */
  SEND_BATCH_WINDOW_MS: z.coerce.number().min(0).max(100).default(2),
  /**
   * Approximate cap on the persist stream's length (XADD MAXLEN ~), so a long Postgres outage
   * cannot fill Redis. Trimmed entries were never acked: their senders heard UNAVAILABLE and retry.
   */
  PERSIST_STREAM_MAXLEN: z.coerce.number().int().min(1_000).max(100_000_000).default(1_000_000),
  /**
   * Admission control: a new send is refused before it is queued (UNAVAILABLE with
   * retryAfterMs) while the oldest persist stream entry not yet committed is older than this.
   * 250 ms is the send→ack objective (p99) that defines the maximum sustainable rate: an
   * entry's wait is a part of its send→ack, so at any rate the cluster sustains the age stays
   * under it (99 %) and nothing is refused; and it is far below SEND_TIMEOUT_MS, so what is
   * taken commits in time. Measurements: docs/decisions/0020-admission-on-oldest-uncommitted-entry.md.
   */
  ADMISSION_MAX_PERSIST_DELAY_MS: z.coerce.number().int().min(20).max(60_000).default(250),
  /**
   * How often each gateway reads the persist backlog from Redis (one script call shared by all
   * its sends). 25 ms: a tenth of the delay budget, so sends admitted between two samples add
   * little to the backlog, at 40 calls/s per pod of a few O(1) stream commands each.
   */
  ADMISSION_SAMPLE_MS: z.coerce.number().int().min(10).max(10_000).default(25),
  /**
   * A persister that has not touched the stream for this long is taken as stalled: its pending
   * entries (waiting for another persister to reclaim them) do not count for admission, so one
   * crashed persister does not make every gateway refuse. Above the persister's 1 s read block.
   */
  ADMISSION_STALLED_CONSUMER_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(5_000),
  /**
   * Byte budget of the persist stream: new sends are refused before they are queued while the
   * stream takes more than this in Redis, so a long Postgres outage with retrying clients cannot
   * fill Redis (with noeviction that would take rate limits, presence and BullMQ down too).
   * 64 MiB: about 200,000 queued messages (a minute at the maximum rate), a quarter of the dev
   * overlay's 256 MiB Redis.
   */
  PERSIST_STREAM_MAX_BYTES: z.coerce.number().int().min(65_536).max(1_099_511_627_776).default(64 * 1024 * 1024),
  /**
   * message:delivered watermarks of this window share one receipts job (every device acks every
   * message: the most frequent event); after a quiet spell one leaves at once.
   */
  RECEIPT_BATCH_WINDOW_MS: z.coerce.number().min(0).max(1_000).default(5),
  MESSAGE_BODY_MAX_CHARS: z.coerce.number().int().min(1).max(LIMITS.messageBodyChars).default(LIMITS.messageBodyChars),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Bound on one database call on a request path (membership, history, sync, receipts): below
   * the contract's 2 s, so a slow Postgres is answered UNAVAILABLE in time rather than hanging.
   */
  DB_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1_500),
  /**
   * How often this pod tells Redis it is alive. The delivery service sweeps a pod silent for
   * PRESENCE_TTL_MS (default 20 s), so its users go offline within the contract's 30 s.
   */
  PRESENCE_HEARTBEAT_MS: z.coerce.number().int().min(200).max(10_000).default(5_000),
  /** A typing:start for the same user and conversation is forwarded at most once per this. */
  TYPING_THROTTLE_MS: z.coerce.number().int().min(0).max(60_000).default(3_000),
  /** `isTyping: false` goes out when no typing:start came for this long (the contract's 6 s). */
  TYPING_TIMEOUT_MS: z.coerce.number().int().min(500).max(60_000).default(6_000),
  /** Typing is dropped (first, before anything else) while the event loop's p99 delay is above this. */
  TYPING_SHED_LOOP_DELAY_MS: z.coerce.number().int().min(1).max(10_000).default(100),
}).superRefine((env, ctx) => {
  if (env.NODE_ENV === "production" && !env.JWT_SECRET && !env.JWT_JWKS_URL) {
    ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: "a production start needs JWT_SECRET or JWT_JWKS_URL" });
  }
  if (env.JWT_SECRET && env.JWT_JWKS_URL) {
    ctx.addIssue({ code: "custom", path: ["JWT_JWKS_URL"], message: "set JWT_SECRET or JWT_JWKS_URL, not both" });
  }
  if (env.TYPING_THROTTLE_MS >= env.TYPING_TIMEOUT_MS) {
    ctx.addIssue({ code: "custom", path: ["TYPING_THROTTLE_MS"], message: "the typing throttle must be shorter than TYPING_TIMEOUT_MS, or refreshes would never reach anyone" });
  }
  if (env.RATE_LIMIT_BURST < env.RATE_LIMIT_PER_SECOND) {
    ctx.addIssue({ code: "custom", path: ["RATE_LIMIT_BURST"], message: "the burst must be at least the per-second rate" });
  }
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;

/** The parsed variables, as they are named in the environment (the env schema's tests read these). */
export const loadEnv = (source: Record<string, string | undefined> = process.env) => parseEnv(GatewayEnv, source);

/**
 * The gateway's settings, parsed once and fully defaulted, grouped by concern: server.ts calls
 * this and hands the result (or a Pick<> of it) down; nothing below writes a default of its own.
 */
export function loadConfig(source: Record<string, string | undefined> = process.env) {
  const env = loadEnv(source);
  // env.ts refuses a production start without a key; a development start signs with the
  // well-known secret (server.ts says so in its log).
  const developmentSecret = !env.JWT_SECRET && !env.JWT_JWKS_URL;
  return {
    common: commonConfig(env, "gateway"),
    http: { port: env.PORT, host: env.HOST, corsOrigins: env.CORS_ORIGINS },
    auth: {
      secret: developmentSecret ? DEV_JWT_SECRET : env.JWT_SECRET,
      jwksUrl: env.JWT_JWKS_URL,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      algorithms: env.JWT_ALGORITHMS,
      developmentSecret,
    },
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    database: { poolSize: env.DATABASE_POOL_SIZE, timeoutMs: env.DB_TIMEOUT_MS },
    send: {
      rateLimit: { perSecond: env.RATE_LIMIT_PER_SECOND, burst: env.RATE_LIMIT_BURST },
      timeoutMs: env.SEND_TIMEOUT_MS,
      batchWindowMs: env.SEND_BATCH_WINDOW_MS,
      persistStreamMaxLen: env.PERSIST_STREAM_MAXLEN,
      admission: {
        maxDelayMs: env.ADMISSION_MAX_PERSIST_DELAY_MS,
        maxStreamBytes: env.PERSIST_STREAM_MAX_BYTES,
        sampleMs: env.ADMISSION_SAMPLE_MS,
        stalledConsumerMs: env.ADMISSION_STALLED_CONSUMER_MS,
      },
      bodyMaxChars: env.MESSAGE_BODY_MAX_CHARS,
    },
    receipts: { batchWindowMs: env.RECEIPT_BATCH_WINDOW_MS },
    presence: { heartbeatMs: env.PRESENCE_HEARTBEAT_MS },
    typing: { throttleMs: env.TYPING_THROTTLE_MS, timeoutMs: env.TYPING_TIMEOUT_MS, shedLoopDelayMs: env.TYPING_SHED_LOOP_DELAY_MS },
  } as const;
}
export type GatewayConfig = ReturnType<typeof loadConfig>;
