import { describe, expect, it } from "vitest";
import { DEV_JWT_SECRET } from "@parley/runtime";
import { loadConfig as loadFrom, loadEnv } from "./env.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadConfig = (env: Record<string, string | undefined>) => loadFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

describe("gateway env", () => {
  it("has the contract's defaults", () => {
    const env = loadEnv({});
    expect(env).toMatchObject({
      PORT: 3000,
      SHUTDOWN_GRACE_MS: 25_000,
      RATE_LIMIT_PER_SECOND: 20,
      RATE_LIMIT_BURST: 40,
      MESSAGE_BODY_MAX_CHARS: 4_000,
      CORS_ORIGINS: ["*"],
      LOG_LEVEL: "info",
    });
  });

  it("has no moderation without a URL; a URL needs its secret; fail-open, 1 s and 256 calls by default", () => {
    expect(loadConfig({}).moderation).toBeUndefined();
    expect(loadConfig({}).events).toEqual({ enabled: false });
    expect(() => loadConfig({ MODERATION_WEBHOOK_URL: "https://mod.example/hook" })).toThrow(/MODERATION_WEBHOOK_SECRET/);
    const on = loadConfig({ MODERATION_WEBHOOK_URL: "https://mod.example/hook", MODERATION_WEBHOOK_SECRET: "s".repeat(32) });
    expect(on.moderation).toEqual({ url: "https://mod.example/hook", secret: "s".repeat(32), timeoutMs: 1_000, failOpen: true, maxConcurrent: 256 });
    expect(loadConfig({ MODERATION_WEBHOOK_URL: "https://mod.example/hook", MODERATION_WEBHOOK_SECRET: "s".repeat(32), MODERATION_FAIL_OPEN: "false" }).moderation?.failOpen).toBe(false);
    expect(loadConfig({ EVENTS_WEBHOOK_URL: "https://events.example/hook" }).events).toEqual({ enabled: true });
    expect(loadConfig({}).export).toEqual({ cursorRows: 500, maxConcurrent: 2, timeoutMs: 600_000 });
  });

  it("refuses a production start with no JWT key", () => {
    expect(() => loadEnv({ NODE_ENV: "production" })).toThrow(/JWT_SECRET or JWT_JWKS_URL/);
    expect(loadEnv({ NODE_ENV: "production", JWT_SECRET: "s".repeat(32) }).JWT_SECRET).toHaveLength(32);
    expect(loadEnv({ NODE_ENV: "production", JWT_JWKS_URL: "https://idp.example/.well-known/jwks.json" }).JWT_JWKS_URL).toBeDefined();
  });

  it("refuses, in production only, the development secret and an HS256 secret shorter than 32 bytes, in one message", () => {
    const production = (JWT_SECRET: string) => () => loadEnv({ NODE_ENV: "production", JWT_SECRET });
    expect(production(DEV_JWT_SECRET)).toThrow(/^invalid configuration:\n {2}JWT_SECRET: is the published development secret; a production start needs a random secret of at least 32 bytes/);
    expect(production("s".repeat(31))).toThrow(/JWT_SECRET: is 31 bytes long; a production start needs a random secret of at least 32 bytes/);
    // Bytes, not characters: 16 two-byte characters are 32 bytes.
    expect(production("é".repeat(16))()).toMatchObject({ JWT_SECRET: "é".repeat(16) });
    expect(production("s".repeat(32))()).toMatchObject({ JWT_SECRET: "s".repeat(32) });
    // Development and test starts keep accepting both (npm start signs with the development secret).
    expect(loadEnv({ NODE_ENV: "development", JWT_SECRET: DEV_JWT_SECRET }).JWT_SECRET).toBe(DEV_JWT_SECRET);
    expect(loadEnv({ NODE_ENV: "test", JWT_SECRET: "s".repeat(16) }).JWT_SECRET).toHaveLength(16);
  });

  it("allows a few seconds of clock difference by default, configurable", () => {
    expect(loadConfig({}).auth.clockToleranceS).toBe(5);
    expect(loadConfig({ JWT_CLOCK_TOLERANCE_S: "0" }).auth.clockToleranceS).toBe(0);
    expect(() => loadEnv({ JWT_CLOCK_TOLERANCE_S: "3600" })).toThrow(/JWT_CLOCK_TOLERANCE_S/);
  });

  it("speaks TLS to Redis with REDIS_TLS=true or a rediss:// URL", () => {
    expect(loadConfig({ REDIS_URL: "redis://:pw@redis.internal:6380/2", REDIS_TLS: "true" }).common.redis).toEqual({ kind: "single", url: "rediss://:pw@redis.internal:6380/2" });
    expect(loadConfig({ REDIS_URL: "rediss://redis.internal:6380" }).common.redis).toEqual({ kind: "single", url: "rediss://redis.internal:6380" });
    expect(loadConfig({ REDIS_URL: "redis://redis.internal:6380" }).common.redis).toEqual({ kind: "single", url: "redis://redis.internal:6380" });
    expect(() => loadEnv({ REDIS_TLS: "maybe" })).toThrow(/REDIS_TLS/);
  });

  it("serves TLS with both TLS_CERT_FILE and TLS_KEY_FILE, and refuses one without the other", () => {
    expect(loadConfig({ TLS_CERT_FILE: "/tls/tls.crt", TLS_KEY_FILE: "/tls/tls.key" }).http.tls).toEqual({ certFile: "/tls/tls.crt", keyFile: "/tls/tls.key" });
    expect(loadConfig({}).http.tls).toBeUndefined();
    expect(() => loadEnv({ TLS_CERT_FILE: "/tls/tls.crt" })).toThrow(/TLS_KEY_FILE: TLS needs both/);
  });

  it("waits a fifth of SHUTDOWN_GRACE_MS before closing sockets unless DRAIN_DELAY_MS says otherwise, always below the grace", () => {
    expect(loadConfig({}).drainDelayMs).toBe(5_000);
    expect(loadConfig({ SHUTDOWN_GRACE_MS: "8000" }).drainDelayMs).toBe(1_600);
    expect(loadConfig({ DRAIN_DELAY_MS: "0" }).drainDelayMs).toBe(0);
    expect(() => loadEnv({ SHUTDOWN_GRACE_MS: "5000", DRAIN_DELAY_MS: "5000" })).toThrow(/DRAIN_DELAY_MS/);
  });

  it("lists every bad variable at once", () => {
    expect(() => loadEnv({ PORT: "http", REDIS_URL: "nope", JWT_ALGORITHMS: "HS256,none" })).toThrow(/REDIS_URL[\s\S]*PORT[\s\S]*JWT_ALGORITHMS/);
  });

  it("parses lists", () => {
    const env = loadEnv({ CORS_ORIGINS: "https://a.example, https://b.example", JWT_ALGORITHMS: "RS256,ES256", JWT_JWKS_URL: "https://idp.example/jwks" });
    expect(env.CORS_ORIGINS).toEqual(["https://a.example", "https://b.example"]);
    expect(env.JWT_ALGORITHMS).toEqual(["RS256", "ES256"]);
  });

  it("refuses a burst below the rate", () => {
    expect(() => loadEnv({ RATE_LIMIT_PER_SECOND: "50", RATE_LIMIT_BURST: "10" })).toThrow(/burst/);
  });

  it("limits every class of event per user, and caps sockets and what waits for them, by default", () => {
    const { limits } = loadConfig({});
    expect(limits.budgets).toEqual({
      send: { perSecond: 20, burst: 40 },
      changes: { perSecond: 20, burst: 40 },
      reads: { perSecond: 10, burst: 30 },
      search: { perSecond: 2, burst: 10 },
      typing: { perSecond: 5, burst: 20 },
      receipts: { perSecond: 50, burst: 200 },
      conversations: { perSecond: 2, burst: 20 },
      auth: { perSecond: 1, burst: 5 },
    });
    expect(limits).toMatchObject({ eventsInFlightMax: 128, socketsPerUserMax: 20, socketsPerIpMax: 1_000, sendBufferMaxBytes: 16 * 1024 * 1024, frameMaxBytes: 64 * 1024 });
    expect(() => loadEnv({ FRAME_MAX_BYTES: String(128 * 1024) })).toThrow(/FRAME_MAX_BYTES/);
    expect(() => loadEnv({ RATE_LIMIT_SEARCH_PER_SECOND: "5", RATE_LIMIT_SEARCH_BURST: "2" })).toThrow(/RATE_LIMIT_SEARCH_BURST/);
    expect(() => loadEnv({ SOCKET_SEND_BUFFER_MAX_BYTES: "1000" })).toThrow(/SOCKET_SEND_BUFFER_MAX_BYTES/);
  });
});

describe("gateway env: presence and typing", () => {
  it("defaults keep the contract's 30 s and 6 s", () => {
    expect(loadEnv({})).toMatchObject({ PRESENCE_HEARTBEAT_MS: 5_000, TYPING_THROTTLE_MS: 3_000, TYPING_TIMEOUT_MS: 6_000, TYPING_SHED_LOOP_DELAY_MS: 100 });
  });

  it("refuses a typing throttle that is not shorter than the timeout, and a heartbeat too slow for the TTL", () => {
    expect(() => loadEnv({ TYPING_THROTTLE_MS: "6000" })).toThrow(/TYPING_THROTTLE_MS/);
    expect(() => loadEnv({ PRESENCE_HEARTBEAT_MS: "30000" })).toThrow(/PRESENCE_HEARTBEAT_MS/);
  });
});

describe("gateway config", () => {
  it("PERSIST_PARTITIONS: 1 on one Redis primary, 8 on a Redis Cluster by default; 1–64 when set", () => {
    expect(loadConfig({ REDIS_URL: "redis://127.0.0.1:6379" }).send.persistPartitions).toBe(1);
    expect(loadFrom({ REDIS_CLUSTER_NODES: "127.0.0.1:7000" }).send.persistPartitions).toBe(8);
    expect(loadFrom({ REDIS_CLUSTER_NODES: "127.0.0.1:7000", PERSIST_PARTITIONS: "3" }).send.persistPartitions).toBe(3);
    expect(() => loadConfig({ REDIS_URL: "redis://127.0.0.1:6379", PERSIST_PARTITIONS: "65" })).toThrow(/PERSIST_PARTITIONS/);
  });

  it("is fully defaulted: what the wiring used to fall back to now comes from here", () => {
    const config = loadConfig({});
    expect(config.common).toMatchObject({ podName: "gateway", dependencyCheckMs: 5_000 });
    expect(config.database).toEqual({ poolSize: 10, timeoutMs: 1_500, queueMax: 100, statementTimeoutMs: 2_000, membershipLookupsPerSecond: 50 });
    expect(config.search).toEqual({ maxRows: 20_000 });
    expect(config.send).toEqual({
      rateLimit: { perSecond: 20, burst: 40 },
      timeoutMs: 1_500,
      batchWindowMs: 2,
      persistStreamMaxLen: 1_000_000,
      persistPartitions: 1,
      // Admission control (docs/decisions/0020-admission-on-oldest-uncommitted-entry.md).
      admission: { maxDelayMs: 250, maxStreamBytes: 64 * 1024 * 1024, sampleMs: 25, stalledConsumerMs: 5_000 },
      bodyMaxChars: 4_000,
    });
    expect(config.receipts).toEqual({ batchWindowMs: 5, roomMaxMembers: 100 });
    expect(config.membership).toEqual({ maxMembers: 10_000, maxConversationsPerUser: 1_000, addsPerMinute: 600 });
    expect(config.presence).toEqual({ heartbeatMs: 5_000 });
    expect(config.typing).toEqual({ throttleMs: 3_000, timeoutMs: 6_000, shedLoopDelayMs: 100 });
  });

  it("refuses a member-add budget smaller than one full add request", () => {
    expect(() => loadConfig({ MEMBER_ADDS_PER_MINUTE: "499" })).toThrow(/MEMBER_ADDS_PER_MINUTE/);
  });

  it("signs with the development secret only when no key is configured", () => {
    expect(loadConfig({}).auth).toMatchObject({ secret: DEV_JWT_SECRET, developmentSecret: true });
    expect(loadConfig({ JWT_SECRET: "s".repeat(32) }).auth).toMatchObject({ secret: "s".repeat(32), developmentSecret: false });
    const jwks = loadConfig({ JWT_JWKS_URL: "https://idp.example/jwks" }).auth;
    expect(jwks).toMatchObject({ secret: undefined, developmentSecret: false });
  });
});
