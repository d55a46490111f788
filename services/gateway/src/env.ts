import { z } from "zod";
import { CommonEnv, commonConfig, csv, DEV_JWT_SECRET, parseEnv } from "@parley/runtime";
import { LIMITS } from "@parley/protocol";
import { SEARCH_MAX_ROWS_DEFAULT } from "@parley/db";
import { MAX_PERSIST_PARTITIONS, defaultPersistPartitions } from "@parley/bus";

const JwtAlgorithms = ["HS256", "RS256", "ES256", "EdDSA"] as const;
/** HS256's key size (RFC 7518 §3.2: a key at least as long as the hash output). */
const MIN_PRODUCTION_SECRET_BYTES = 32;

export const GatewayEnv = CommonEnv.extend({
  /** HTTP API and Socket.IO. */
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default("0.0.0.0"),
  /**
   * PEM certificate chain and private key: when both are set the gateway serves HTTPS and WSS
   * itself on PORT (for deployments with no TLS-terminating proxy in front). Read at start and
   * re-read when they change (http/certificate-reload.ts).
   */
  TLS_CERT_FILE: z.string().min(1).optional(),
  TLS_KEY_FILE: z.string().min(1).optional(),
  /**
   * HS256 shared secret. One of JWT_SECRET or JWT_JWKS_URL is required in production, where the
   * secret must be 32 bytes or more (HS256's key size, RFC 7518 §3.2) and not the published
   * development secret.
   */
  JWT_SECRET: z.string().min(16, "JWT_SECRET must be at least 16 characters").optional(),
  /** Asymmetric keys (RS256/ES256/EdDSA), fetched, cached and re-fetched on unknown key ids. */
  JWT_JWKS_URL: z.url().optional(),
  /** Checked when set. */
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).optional(),
  /** Accepted algorithms; defaults to HS256 with a secret, RS256/ES256/EdDSA with a JWKS URL. */
  JWT_ALGORITHMS: csv.pipe(z.array(z.enum(JwtAlgorithms)).min(1)).optional(),
  /**
   * Seconds of clock difference allowed between the token issuer and this pod on `exp` and
   * `nbf`: a few seconds absorb NTP drift and a token used the second it is issued, while an
   * expired token still stops working within moments.
   */
  JWT_CLOCK_TOLERANCE_S: z.coerce.number().int().min(0).max(300).default(5),
  /** Browser origins allowed to connect; `*` allows any. Requests without Origin (apps) always pass. */
  CORS_ORIGINS: csv.default(["*"]),
  /** How long a drain may take: sockets are closed in jittered batches across it. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(LIMITS.shutdownGraceMs),
  /**
   * After SIGTERM, how long /readyz answers 503 and new sockets are refused before any socket is
   * closed (the contract's default: a fifth of SHUTDOWN_GRACE_MS, 5 s of 25): long enough for a
   * load balancer polling /readyz every few seconds to see the 503 and stop routing here.
   */
  DRAIN_DELAY_MS: z.coerce.number().int().min(0).optional(),
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
   * Persist streams a conversation's sends are spread over by a hash of its id (docs/operations.md,
   * "Persist partitions"). Default 1 on one Redis primary (REDIS_URL, Sentinel), 8 on a Redis
   * Cluster. Every gateway of a deployment should have the same value (a change rolls out
   * safely: persisters drain every partition they find).
   */
  PERSIST_PARTITIONS: z.coerce.number().int().min(1).max(MAX_PERSIST_PARTITIONS).optional(),
  /**
   * Approximate cap on each persist stream's length (XADD MAXLEN ~), so a long Postgres outage
   * cannot fill Redis. Trimmed entries were never acked: their senders heard UNAVAILABLE and retry.
   */
  PERSIST_STREAM_MAXLEN: z.coerce.number().int().min(1_000).max(100_000_000).default(1_000_000),
  /**
   * Admission control: a new send is refused before it is queued (UNAVAILABLE with
   * retryAfterMs) while the oldest persist stream entry not yet committed is older than this.
   * 250 ms: the send→ack objective (p99) that defines the maximum sustainable rate, so a
   * sustainable rate is not refused and what is taken commits in time, far below
   * SEND_TIMEOUT_MS. Committed entries waiting for their XACK (the notify hand-off) are left
   * out through the persisters' uncommitted marks. Measurements:
   * docs/decisions/0020-admission-on-oldest-uncommitted-entry.md.
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
  /**
   * Above this many members a read receipt goes only to the senders of the messages read, not
   * to the whole room: a member's receipt sent to every member grows with the square of the
   * room (one message in a 10,000-member room: 20,000 receipts × 10,000 sockets). 100: a group's
   * members all see who read what, as chat apps show it. Keep it equal to the delivery service's.
   */
  RECEIPT_ROOM_MAX_MEMBERS: z.coerce.number().int().min(0).max(1_000_000).default(100),
  /**
   * Members of one conversation at most (adds past it: FORBIDDEN). 10,000: a large community
   * space; receipts above RECEIPT_ROOM_MAX_MEMBERS keep such a room's cost linear, and the
   * cluster tests run a room of this size.
   */
  MAX_MEMBERS_PER_CONVERSATION: z.coerce.number().int().min(2).max(1_000_000).default(10_000),
  /**
   * Conversations one user belongs to at most (adding a user past it: FORBIDDEN). Every
   * handshake, sync and presence change of a user costs in proportion to this; 1,000 is far
   * above what people use, and far below what an attacker adding a victim everywhere would reach.
   */
  MAX_CONVERSATIONS_PER_USER: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /**
   * Users one user may add to conversations per minute (creations included, each member named
   * counting one; RATE_LIMITED past it). 600: a few full-size adds of 500 a minute for an admin
   * setting up a space; an attacker needs over an hour to put a victim into 1,000 conversations.
   */
  MEMBER_ADDS_PER_MINUTE: z.coerce.number().int().min(LIMITS.membersPerRequest, "MEMBER_ADDS_PER_MINUTE must allow one full add request").max(1_000_000).default(600),
  MESSAGE_BODY_MAX_CHARS: z.coerce.number().int().min(1).max(LIMITS.messageBodyChars).default(LIMITS.messageBodyChars),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  /**
   * Bound on one database call on a request path (membership, history, sync, receipts): below
   * the contract's 2 s, so a slow Postgres is answered UNAVAILABLE in time rather than hanging.
   */
  DB_TIMEOUT_MS: z.coerce.number().int().min(50).max(60_000).default(1_500),
  /**
   * Request-path database calls that may wait for one of the pool's connections; one more is
   * refused at once (UNAVAILABLE with retryAfterMs). 100 waiting behind 10 connections is
   * about 10 ms of work at the 1 ms these queries take, and 1.5 s of waiting when Postgres
   * stalls: past that, waiting only turns into a time-out.
   */
  DB_QUEUE_MAX: z.coerce.number().int().min(0).max(100_000).default(100),
  /**
   * statement_timeout of the gateway's connections: a request query is answered within
   * DB_TIMEOUT_MS, so anything running past 2 s is abuse or a stall; the server stops it even
   * if the cancel from the gateway is lost. The persister keeps its own (10 s) for commits.
   */
  DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(2_000),
  /**
   * Membership look-ups that miss the cache, per user per second on one pod (burst: ten times
   * this). Every answer, "not a member" too, is cached; this bounds a flood of random
   * conversation ids, one query each. A user opening 500 conversations at once is served at
   * 50 + 50/s.
   */
  /**
   * Messages one search may read, whatever the query (phrases and negations of common words
   * included): its matches are then those among the newest messages read. The walk for a
   * common word reads about 400; 20,000 is ~100 ms of Postgres.
   */
  SEARCH_MAX_ROWS: z.coerce.number().int().min(1_000).max(1_000_000).default(SEARCH_MAX_ROWS_DEFAULT),
  MEMBERSHIP_LOOKUPS_PER_SECOND: z.coerce.number().int().min(1).max(100_000).default(50),
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
  // Per-user limits of everything besides sends (protocol: "every event and route is limited
  // per user"), cluster-wide like the send limit: a burst at once, a rate sustained. Edits,
  // deletions and reactions share the send limit's numbers. Defaults sit well above what the
  // SDK does (it sends one catch-up sync, coalesces watermarks, refreshes typing every few seconds).
  /** sync, messages:history, presence:query, GET conversations and messages: a reconnect's catch-up (sync, a few history pages) fits the burst. */
  RATE_LIMIT_READS_PER_SECOND: z.coerce.number().int().min(1).default(10),
  RATE_LIMIT_READS_BURST: z.coerce.number().int().min(1).default(30),
  /** GET /v1/search: the most expensive read per request. */
  RATE_LIMIT_SEARCH_PER_SECOND: z.coerce.number().int().min(1).default(2),
  RATE_LIMIT_SEARCH_BURST: z.coerce.number().int().min(1).default(10),
  /** typing:start/stop: a client refreshes about every 3 s per conversation it types in. */
  RATE_LIMIT_TYPING_PER_SECOND: z.coerce.number().int().min(1).default(5),
  RATE_LIMIT_TYPING_BURST: z.coerce.number().int().min(1).default(20),
  /** message:delivered/read and POST read: the most frequent events (one watermark per conversation with news); the burst covers a reconnect's sync over many conversations. */
  RATE_LIMIT_RECEIPTS_PER_SECOND: z.coerce.number().int().min(1).default(50),
  RATE_LIMIT_RECEIPTS_BURST: z.coerce.number().int().min(1).default(200),
  /** Creating, renaming, adding and removing members: rare for a person, costly for the members they touch. */
  RATE_LIMIT_CONVERSATIONS_PER_SECOND: z.coerce.number().int().min(1).default(2),
  RATE_LIMIT_CONVERSATIONS_BURST: z.coerce.number().int().min(1).default(20),
  /** auth:refresh: one per token lifetime is the need; a few more for retries. */
  RATE_LIMIT_AUTH_PER_SECOND: z.coerce.number().int().min(1).default(1),
  RATE_LIMIT_AUTH_BURST: z.coerce.number().int().min(1).default(5),
  /**
   * Events of one socket handled at once (arrived, not yet answered); over it an event is
   * refused RATE_LIMITED unhandled. The SDK has a send, a watermark per conversation and a
   * read or two out at a time: far below. 0 turns the cap off.
   */
  SOCKET_EVENTS_IN_FLIGHT_MAX: z.coerce.number().int().min(0).max(100_000).default(128),
  /** A user's sockets across the cluster (phones, tablets, desktops, browser tabs); over it the handshake is refused TOO_MANY_SOCKETS. 0: no cap. */
  SOCKETS_PER_USER_MAX: z.coerce.number().int().min(0).max(100_000).default(20),
  /**
   * Sockets from one client address on one pod; over it the handshake is refused
   * TOO_MANY_SOCKETS. High, for the many users behind one carrier NAT; 0 (no cap) behind a
   * proxy that hides client addresses.
   */
  SOCKETS_PER_IP_MAX: z.coerce.number().int().min(0).max(1_000_000).default(1_000),
  /**
   * The load balancers and proxies in front of the gateways, comma-separated: addresses, CIDR
   * ranges, or the names loopback, linklocal, uniquelocal (private ranges). A connection from
   * one of them is counted by the client address it forwards in X-Forwarded-For (the nearest
   * untrusted one), for SOCKETS_PER_IP_MAX and the HTTP request's address. Empty (the default):
   * X-Forwarded-For is ignored, since any client could write one.
   */
  TRUSTED_PROXIES: z
    .string()
    .default("")
    .transform((v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /**
   * What may wait to be written to one socket (a client that does not read); past it the
   * connection is dropped. Above the largest single answer (a full sync: 2,000 messages of up
   * to 4,000 characters, about 9 MB as JSON), so a slow link is never cut mid-catch-up.
   */
  /**
   * One socket frame or HTTP body at most (the contract's 64 KiB; only lower). A frame past it
   * is refused by the transport before it is read; an HTTP body past it is 413.
   */
  FRAME_MAX_BYTES: z.coerce.number().int().min(4 * 1024).max(LIMITS.frameBytes).default(LIMITS.frameBytes),
  SOCKET_SEND_BUFFER_MAX_BYTES: z.coerce.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
  /**
   * Every send is shown to this webhook before it is queued (protocol.md v1.1): it answers
   * allow, reject (REJECTED, nothing stored) or replace. Unset: no moderation, and the send path
   * does nothing more than without this feature.
   */
  MODERATION_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** HMAC-SHA256 key the moderation requests are signed with, as the push webhook's (docs/webhooks.md). */
  MODERATION_WEBHOOK_SECRET: z.string().min(16, "MODERATION_WEBHOOK_SECRET must be at least 16 characters").optional(),
  /**
   * One moderation call's time limit. 1,000 (the contract's default): it sits inside the send's
   * own SEND_TIMEOUT_MS (1.5 s), leaving the commit its share; the send's deadline cuts it shorter.
   */
  MODERATION_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(1_000),
  /**
   * What a send without a usable answer (time-out, error) becomes: true (the contract's default)
   * stores it unchanged, so an outage of the moderator is not an outage of chat; false refuses it
   * REJECTED.
   */
  MODERATION_FAIL_OPEN: z.stringbool().default(true),
  /**
   * Moderation calls in flight on one pod at most; past it sends are refused UNAVAILABLE with
   * retryAfterMs (not stored). 256: at the default 1 s time-out, a pod keeps 256 sends/s moving
   * through a moderator that stops answering, and far more through one that answers in tens of ms.
   */
  MODERATION_MAX_CONCURRENT: z.coerce.number().int().min(1).max(100_000).default(256),
  /**
   * The events webhook (protocol.md v1.1). The delivery service posts the events; a gateway only
   * needs to know whether one is configured, to queue the events it sees (message.updated,
   * conversation.created, member.added, member.removed). Unset: nothing is queued.
   */
  EVENTS_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Rows an export (GET /v1/me/export, the admin's) reads from Postgres per round trip: what it
   * holds in memory at once. 500 rows of messages of at most 4,000 characters: a few MiB at most.
   */
  EXPORT_CURSOR_ROWS: z.coerce.number().int().min(10).max(10_000).default(500),
  /**
   * Exports streaming at once on one pod; past it, 503 with Retry-After. Each holds one database
   * connection for its whole length, so this stays well below DATABASE_POOL_SIZE: 2.
   */
  EXPORT_MAX_CONCURRENT: z.coerce.number().int().min(1).max(100).default(2),
  /**
   * One export's whole length at most; past it the stream is cut before its end line (the client
   * asks again). 10 minutes: 100,000 messages stream in seconds; this bounds a client that stops
   * reading, which would otherwise hold a database connection for as long as it likes.
   */
  EXPORT_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(24 * 3_600_000).default(600_000),
}).superRefine((env, ctx) => {
  if (env.MODERATION_WEBHOOK_URL && !env.MODERATION_WEBHOOK_SECRET) {
    ctx.addIssue({ code: "custom", path: ["MODERATION_WEBHOOK_SECRET"], message: "MODERATION_WEBHOOK_URL needs MODERATION_WEBHOOK_SECRET to sign its requests" });
  }
  if (env.NODE_ENV === "production" && !env.JWT_SECRET && !env.JWT_JWKS_URL) {
    ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: "a production start needs JWT_SECRET or JWT_JWKS_URL" });
  }
  if (env.NODE_ENV === "production" && env.JWT_SECRET !== undefined) {
    const problem =
      env.JWT_SECRET === DEV_JWT_SECRET
        ? "is the published development secret"
        : Buffer.byteLength(env.JWT_SECRET, "utf8") < MIN_PRODUCTION_SECRET_BYTES
          ? `is ${Buffer.byteLength(env.JWT_SECRET, "utf8")} bytes long`
          : undefined;
    if (problem) {
      ctx.addIssue({
        code: "custom",
        path: ["JWT_SECRET"],
        message: `${problem}; a production start needs a random secret of at least ${MIN_PRODUCTION_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`,
      });
    }
  }
  if ((env.TLS_CERT_FILE === undefined) !== (env.TLS_KEY_FILE === undefined)) {
    ctx.addIssue({ code: "custom", path: [env.TLS_CERT_FILE ? "TLS_KEY_FILE" : "TLS_CERT_FILE"], message: "TLS needs both TLS_CERT_FILE and TLS_KEY_FILE" });
  }
  if (env.JWT_SECRET && env.JWT_JWKS_URL) {
    ctx.addIssue({ code: "custom", path: ["JWT_JWKS_URL"], message: "set JWT_SECRET or JWT_JWKS_URL, not both" });
  }
  if (env.DRAIN_DELAY_MS !== undefined && env.DRAIN_DELAY_MS > 0 && env.DRAIN_DELAY_MS >= env.SHUTDOWN_GRACE_MS) {
    ctx.addIssue({ code: "custom", path: ["DRAIN_DELAY_MS"], message: "the drain delay must be shorter than SHUTDOWN_GRACE_MS, which also covers closing the sockets" });
  }
  if (env.TYPING_THROTTLE_MS >= env.TYPING_TIMEOUT_MS) {
    ctx.addIssue({ code: "custom", path: ["TYPING_THROTTLE_MS"], message: "the typing throttle must be shorter than TYPING_TIMEOUT_MS, or refreshes would never reach anyone" });
  }
  if (env.RATE_LIMIT_BURST < env.RATE_LIMIT_PER_SECOND) {
    ctx.addIssue({ code: "custom", path: ["RATE_LIMIT_BURST"], message: "the burst must be at least the per-second rate" });
  }
  for (const c of ["READS", "SEARCH", "TYPING", "RECEIPTS", "CONVERSATIONS", "AUTH"] as const) {
    if (env[`RATE_LIMIT_${c}_BURST`] < env[`RATE_LIMIT_${c}_PER_SECOND`]) {
      ctx.addIssue({ code: "custom", path: [`RATE_LIMIT_${c}_BURST`], message: "the burst must be at least the per-second rate" });
    }
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
  const common = commonConfig(env, "gateway");
  return {
    common,
    http: {
      port: env.PORT,
      host: env.HOST,
      corsOrigins: env.CORS_ORIGINS,
      tls: env.TLS_CERT_FILE && env.TLS_KEY_FILE ? { certFile: env.TLS_CERT_FILE, keyFile: env.TLS_KEY_FILE } : undefined,
    },
    auth: {
      secret: developmentSecret ? DEV_JWT_SECRET : env.JWT_SECRET,
      jwksUrl: env.JWT_JWKS_URL,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      algorithms: env.JWT_ALGORITHMS,
      clockToleranceS: env.JWT_CLOCK_TOLERANCE_S,
      developmentSecret,
    },
    shutdownGraceMs: env.SHUTDOWN_GRACE_MS,
    drainDelayMs: env.DRAIN_DELAY_MS ?? Math.floor(env.SHUTDOWN_GRACE_MS / 5),
    database: {
      poolSize: env.DATABASE_POOL_SIZE,
      timeoutMs: env.DB_TIMEOUT_MS,
      queueMax: env.DB_QUEUE_MAX,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
      membershipLookupsPerSecond: env.MEMBERSHIP_LOOKUPS_PER_SECOND,
    },
    send: {
      rateLimit: { perSecond: env.RATE_LIMIT_PER_SECOND, burst: env.RATE_LIMIT_BURST },
      timeoutMs: env.SEND_TIMEOUT_MS,
      batchWindowMs: env.SEND_BATCH_WINDOW_MS,
      persistStreamMaxLen: env.PERSIST_STREAM_MAXLEN,
      persistPartitions: env.PERSIST_PARTITIONS ?? defaultPersistPartitions(common.redis.kind),
      admission: {
        maxDelayMs: env.ADMISSION_MAX_PERSIST_DELAY_MS,
        maxStreamBytes: env.PERSIST_STREAM_MAX_BYTES,
        sampleMs: env.ADMISSION_SAMPLE_MS,
        stalledConsumerMs: env.ADMISSION_STALLED_CONSUMER_MS,
      },
      bodyMaxChars: env.MESSAGE_BODY_MAX_CHARS,
    },
    receipts: { batchWindowMs: env.RECEIPT_BATCH_WINDOW_MS, roomMaxMembers: env.RECEIPT_ROOM_MAX_MEMBERS },
    search: { maxRows: env.SEARCH_MAX_ROWS },
    membership: {
      maxMembers: env.MAX_MEMBERS_PER_CONVERSATION,
      maxConversationsPerUser: env.MAX_CONVERSATIONS_PER_USER,
      addsPerMinute: env.MEMBER_ADDS_PER_MINUTE,
    },
    presence: { heartbeatMs: env.PRESENCE_HEARTBEAT_MS },
    typing: { throttleMs: env.TYPING_THROTTLE_MS, timeoutMs: env.TYPING_TIMEOUT_MS, shedLoopDelayMs: env.TYPING_SHED_LOOP_DELAY_MS },
    limits: {
      budgets: {
        send: { perSecond: env.RATE_LIMIT_PER_SECOND, burst: env.RATE_LIMIT_BURST },
        changes: { perSecond: env.RATE_LIMIT_PER_SECOND, burst: env.RATE_LIMIT_BURST },
        reads: { perSecond: env.RATE_LIMIT_READS_PER_SECOND, burst: env.RATE_LIMIT_READS_BURST },
        search: { perSecond: env.RATE_LIMIT_SEARCH_PER_SECOND, burst: env.RATE_LIMIT_SEARCH_BURST },
        typing: { perSecond: env.RATE_LIMIT_TYPING_PER_SECOND, burst: env.RATE_LIMIT_TYPING_BURST },
        receipts: { perSecond: env.RATE_LIMIT_RECEIPTS_PER_SECOND, burst: env.RATE_LIMIT_RECEIPTS_BURST },
        conversations: { perSecond: env.RATE_LIMIT_CONVERSATIONS_PER_SECOND, burst: env.RATE_LIMIT_CONVERSATIONS_BURST },
        auth: { perSecond: env.RATE_LIMIT_AUTH_PER_SECOND, burst: env.RATE_LIMIT_AUTH_BURST },
      },
      eventsInFlightMax: env.SOCKET_EVENTS_IN_FLIGHT_MAX,
      socketsPerUserMax: env.SOCKETS_PER_USER_MAX,
      socketsPerIpMax: env.SOCKETS_PER_IP_MAX,
      trustedProxies: env.TRUSTED_PROXIES,
      sendBufferMaxBytes: env.SOCKET_SEND_BUFFER_MAX_BYTES,
      frameMaxBytes: env.FRAME_MAX_BYTES,
    },
    /** Undefined: no moderation (the schema makes a URL come with its secret). */
    moderation:
      env.MODERATION_WEBHOOK_URL && env.MODERATION_WEBHOOK_SECRET
        ? {
            url: env.MODERATION_WEBHOOK_URL,
            secret: env.MODERATION_WEBHOOK_SECRET,
            timeoutMs: env.MODERATION_TIMEOUT_MS,
            failOpen: env.MODERATION_FAIL_OPEN,
            maxConcurrent: env.MODERATION_MAX_CONCURRENT,
          }
        : undefined,
    events: { enabled: env.EVENTS_WEBHOOK_URL !== undefined },
    export: { cursorRows: env.EXPORT_CURSOR_ROWS, maxConcurrent: env.EXPORT_MAX_CONCURRENT, timeoutMs: env.EXPORT_TIMEOUT_MS },
  } as const;
}
export type GatewayConfig = ReturnType<typeof loadConfig>;
