import { describe, expect, it } from "vitest";
import { loadConfig as loadFrom } from "./env.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadConfig = (env: Record<string, string | undefined>) => loadFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

describe("delivery config", () => {
  it("has sensible defaults, with notifications off", () => {
    expect(loadConfig({})).toMatchObject({
      metricsPort: 9102,
      receipts: { concurrency: 64, roomMaxMembers: 100 },
      notifications: { handOffConcurrency: 1, pushConcurrency: 16, collapseMs: 5_000, attempts: 8, previewChars: 140 },
    });
    expect(loadConfig({}).notifications.webhook).toBeUndefined();
  });

  it("needs a secret of some length to sign with when a webhook is set", () => {
    expect(() => loadConfig({ PUSH_WEBHOOK_URL: "https://push.example/hook" })).toThrow(/PUSH_WEBHOOK_SECRET/);
    expect(() => loadConfig({ PUSH_WEBHOOK_URL: "https://push.example/hook", PUSH_WEBHOOK_SECRET: "short" })).toThrow(/at least 16/);
    expect(loadConfig({ PUSH_WEBHOOK_URL: "https://push.example/hook", PUSH_WEBHOOK_SECRET: "s".repeat(32) }).notifications.webhook?.url).toBe("https://push.example/hook");
  });

  it("hands the webhook its time limit, and names the pod when Kubernetes does not", () => {
    const config = loadConfig({ PUSH_WEBHOOK_URL: "https://push.example/hook", PUSH_WEBHOOK_SECRET: "s".repeat(32), PUSH_TIMEOUT_MS: "2000" });
    expect(config.notifications.webhook).toEqual({ url: "https://push.example/hook", secret: "s".repeat(32), timeoutMs: 2_000 });
    expect(config.common.podName).toMatch(/^delivery-[0-9a-f]{6}$/);
    expect(loadConfig({ POD_NAME: "parley-delivery-0" }).common.podName).toBe("parley-delivery-0");
  });

  it("keeps the events webhook off, messages forever, and a sweep an hour by default; an events URL needs its secret", () => {
    const config = loadConfig({});
    expect(config.events).toBeUndefined();
    expect(config.retention).toEqual({ defaultDays: undefined, sweepMs: 3_600_000, batchSize: 1_000, maxBatches: 10_000 });
    expect(config.erasure).toEqual({ batchSize: 500, lockMs: 30_000 });
    expect(() => loadConfig({ EVENTS_WEBHOOK_URL: "https://events.example/hook" })).toThrow(/EVENTS_WEBHOOK_SECRET/);
    expect(loadConfig({ EVENTS_WEBHOOK_URL: "https://events.example/hook", EVENTS_WEBHOOK_SECRET: "s".repeat(32) }).events).toEqual({
      url: "https://events.example/hook",
      secret: "s".repeat(32),
      timeoutMs: 5_000,
      attempts: 15,
      backoffMs: 1_000,
      concurrency: 16,
    });
    expect(loadConfig({ MESSAGE_RETENTION_DAYS: "30" }).retention.defaultDays).toBe(30);
    expect(() => loadConfig({ MESSAGE_RETENTION_DAYS: "0" })).toThrow(/MESSAGE_RETENTION_DAYS/);
  });

  it("lists every bad variable at once", () => {
    expect(() => loadConfig({ PUSH_WEBHOOK_URL: "ftp://push.example", PUSH_COLLAPSE_MS: "soon", RECEIPT_CONCURRENCY: "0" })).toThrow(
      /RECEIPT_CONCURRENCY[\s\S]*PUSH_WEBHOOK_URL[\s\S]*PUSH_COLLAPSE_MS|PUSH_WEBHOOK_URL[\s\S]*PUSH_COLLAPSE_MS/,
    );
  });

  it("has defaults that announce a dead pod's users within the contract's 30 s", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ metricsPort: 9102, presence: { ttlMs: 20_000, flushMs: 1_000, offlineGraceMs: 2_000 } });
    expect(config.presence.ttlMs + 2 * config.presence.flushMs).toBeLessThan(30_000);
  });

  it("lists every bad presence variable at once", () => {
    expect(() => loadConfig({ PRESENCE_TTL_MS: "10", PRESENCE_FLUSH_MS: "soon" })).toThrow(/PRESENCE_TTL_MS[\s\S]*PRESENCE_FLUSH_MS/);
  });
});
