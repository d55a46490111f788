import { describe, expect, it } from "vitest";
import { loadEnv } from "./env.js";

describe("delivery env", () => {
  it("has defaults that announce a dead pod's users within the contract's 30 s", () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ METRICS_PORT: 9102, PRESENCE_TTL_MS: 20_000, PRESENCE_FLUSH_MS: 1_000, PRESENCE_OFFLINE_GRACE_MS: 2_000 });
    expect(env.PRESENCE_TTL_MS + 2 * env.PRESENCE_FLUSH_MS).toBeLessThan(30_000);
  });

  it("lists every bad variable at once", () => {
    expect(() => loadEnv({ PRESENCE_TTL_MS: "10", PRESENCE_FLUSH_MS: "soon" })).toThrow(/PRESENCE_TTL_MS[\s\S]*PRESENCE_FLUSH_MS/);
  });
});
