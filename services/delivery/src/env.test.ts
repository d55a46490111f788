import { describe, expect, it } from "vitest";
import { loadEnv } from "./env.js";

describe("delivery env", () => {
  it("has sensible defaults, with notifications off", () => {
    expect(loadEnv({})).toMatchObject({
      METRICS_PORT: 9102,
      RECEIPT_CONCURRENCY: 64,
      NOTIFY_CONCURRENCY: 1,
      PUSH_CONCURRENCY: 16,
      PUSH_COLLAPSE_MS: 5_000,
      PUSH_ATTEMPTS: 8,
      PUSH_PREVIEW_CHARS: 140,
    });
    expect(loadEnv({}).PUSH_WEBHOOK_URL).toBeUndefined();
  });

  it("needs a secret of some length to sign with when a webhook is set", () => {
    expect(() => loadEnv({ PUSH_WEBHOOK_URL: "https://push.example/hook" })).toThrow(/PUSH_WEBHOOK_SECRET/);
    expect(() => loadEnv({ PUSH_WEBHOOK_URL: "https://push.example/hook", PUSH_WEBHOOK_SECRET: "short" })).toThrow(/at least 16/);
    expect(loadEnv({ PUSH_WEBHOOK_URL: "https://push.example/hook", PUSH_WEBHOOK_SECRET: "s".repeat(32) }).PUSH_WEBHOOK_URL).toBe("https://push.example/hook");
  });

  it("lists every bad variable at once", () => {
    expect(() => loadEnv({ PUSH_WEBHOOK_URL: "ftp://push.example", PUSH_COLLAPSE_MS: "soon", RECEIPT_CONCURRENCY: "0" })).toThrow(
      /RECEIPT_CONCURRENCY[\s\S]*PUSH_WEBHOOK_URL[\s\S]*PUSH_COLLAPSE_MS|PUSH_WEBHOOK_URL[\s\S]*PUSH_COLLAPSE_MS/,
    );
  });

  it("has defaults that announce a dead pod's users within the contract's 30 s", () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ METRICS_PORT: 9102, PRESENCE_TTL_MS: 20_000, PRESENCE_FLUSH_MS: 1_000, PRESENCE_OFFLINE_GRACE_MS: 2_000 });
    expect(env.PRESENCE_TTL_MS + 2 * env.PRESENCE_FLUSH_MS).toBeLessThan(30_000);
  });

  it("lists every bad presence variable at once", () => {
    expect(() => loadEnv({ PRESENCE_TTL_MS: "10", PRESENCE_FLUSH_MS: "soon" })).toThrow(/PRESENCE_TTL_MS[\s\S]*PRESENCE_FLUSH_MS/);
  });
});
