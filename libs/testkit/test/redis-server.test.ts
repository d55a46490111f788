import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { startRedis } from "../src/redis-server.js";
import type { ServerHandle } from "../src/server-handle.js";

describe("startRedis", () => {
  let redis: ServerHandle | undefined;
  afterAll(() => redis?.close());

  it("runs a noeviction Redis that can be stopped and started on the same port", async () => {
    redis = await startRedis({ infra: "local" });
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    // Errors during the planned outage are expected; the assertions below check behaviour.
    client.on("error", () => {});
    try {
      await client.connect();
      expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      expect(await client.config("GET", "save")).toEqual(["save", ""]);
      await client.set("k", "v");

      await redis.stop();
      await expect(client.ping()).rejects.toThrow();

      await redis.start();
      // ioredis reconnects by itself; nothing was saved, so the key is gone.
      await expect.poll(() => client.ping().catch(() => "down"), { timeout: 5_000 }).toBe("PONG");
      expect(await client.get("k")).toBeNull();
      expect(new URL(redis.url).port).toBe(String(redis.port));
    } finally {
      client.disconnect();
    }
  });

  it("close() is safe to call twice and frees the port", async () => {
    const server = await startRedis({ infra: "local" });
    await Promise.all([server.close(), server.close()]);
    const again = await startRedis({ infra: "local", port: server.port });
    await again.close();
  });
});
