import { describe, expect, it } from "vitest";
import { DEV_JWT_SECRET } from "@parley/runtime";
import { loadConfig, loadEnv } from "./env.js";

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

  it("refuses a production start with no JWT key", () => {
    expect(() => loadEnv({ NODE_ENV: "production" })).toThrow(/JWT_SECRET or JWT_JWKS_URL/);
    expect(loadEnv({ NODE_ENV: "production", JWT_SECRET: "s".repeat(32) }).JWT_SECRET).toHaveLength(32);
    expect(loadEnv({ NODE_ENV: "production", JWT_JWKS_URL: "https://idp.example/.well-known/jwks.json" }).JWT_JWKS_URL).toBeDefined();
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
  it("is fully defaulted: what the wiring used to fall back to now comes from here", () => {
    const config = loadConfig({});
    expect(config.common).toMatchObject({ podName: "gateway", dependencyCheckMs: 5_000 });
    expect(config.database).toEqual({ poolSize: 10, timeoutMs: 1_500 });
    expect(config.send).toEqual({
      rateLimit: { perSecond: 20, burst: 40 },
      timeoutMs: 1_500,
      batchWindowMs: 2,
      persistStreamMaxLen: 1_000_000,
      // Admission control (docs/decisions/0020-admission-on-oldest-uncommitted-entry.md).
      admission: { maxDelayMs: 250, maxStreamBytes: 64 * 1024 * 1024, sampleMs: 25, stalledConsumerMs: 5_000 },
      bodyMaxChars: 4_000,
    });
    expect(config.receipts).toEqual({ batchWindowMs: 5 });
    expect(config.presence).toEqual({ heartbeatMs: 5_000 });
    expect(config.typing).toEqual({ throttleMs: 3_000, timeoutMs: 6_000, shedLoopDelayMs: 100 });
  });

  it("signs with the development secret only when no key is configured", () => {
    expect(loadConfig({}).auth).toMatchObject({ secret: DEV_JWT_SECRET, developmentSecret: true });
    expect(loadConfig({ JWT_SECRET: "s".repeat(32) }).auth).toMatchObject({ secret: "s".repeat(32), developmentSecret: false });
    const jwks = loadConfig({ JWT_JWKS_URL: "https://idp.example/jwks" }).auth;
    expect(jwks).toMatchObject({ secret: undefined, developmentSecret: false });
  });
});
