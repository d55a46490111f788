import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { loadConfig as loadFrom } from "./env.js";

// Every start names its Redis (zero forms stop it); these services are handed their connections, so any URL does.
const loadConfig = (env: Record<string, string | undefined>) => loadFrom({ REDIS_URL: "redis://127.0.0.1:6379", ...env });

describe("loadConfig", () => {
  it("returns every setting defaulted, grouped by stage", () => {
    const config = loadConfig({});
    expect(config.commit).toEqual({ maxBatch: 2_000, lanes: 1, intervalMs: 3, testHoldAfterMs: 0 });
    expect(config.stream).toMatchObject({ readCount: 100, blockMs: 1_000, claimIdleMs: 30_000, maxDeliveries: 5, consumerIdleMs: 3_600_000 });
    expect(config.handOff).toEqual({ windowMs: 250 });
    expect(config.searchIndexCleanMs).toBe(1_000);
    expect(config.common.podName).toMatch(/^persister-[0-9a-f]{6}$/);
  });

  it("names the consumer after the pod, else after the host and process", () => {
    expect(loadConfig({ POD_NAME: "parley-persister-0" }).stream.consumer).toBe("parley-persister-0");
    expect(loadConfig({ POD_NAME: "parley-persister-0" }).common.podName).toBe("parley-persister-0");
    expect(loadConfig({}).stream.consumer).toBe(`${hostname()}-${process.pid}`);
  });

  it("refuses a bad value with the variable's name", () => {
    expect(() => loadConfig({ PERSIST_LANES: "0" })).toThrow(/PERSIST_LANES/);
  });

  it("takes the test hook PERSIST_TEST_HOLD_AFTER_COMMIT_MS outside production only", () => {
    expect(loadConfig({ PERSIST_TEST_HOLD_AFTER_COMMIT_MS: "60000" }).commit.testHoldAfterMs).toBe(60_000);
    expect(() => loadConfig({ NODE_ENV: "production", PERSIST_TEST_HOLD_AFTER_COMMIT_MS: "60000" })).toThrow(/PERSIST_TEST_HOLD_AFTER_COMMIT_MS/);
  });
});
