import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { redisPing } from "../src/resp-ping.js";
import { startRedisCluster, startRedisSentinel } from "../src/redis-topologies.js";

const answering = async (ports: number[]) => (await Promise.all(ports.map((p) => redisPing(p).catch(() => false)))).filter(Boolean).length;
const ports = (env: Record<string, string>) => (env.REDIS_CLUSTER_NODES ?? env.REDIS_SENTINELS!).split(",").map((a) => Number(a.split(":")[1]));
const role = async (port: number) => {
  const r = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on("error", () => {});
  try {
    await r.connect();
    return ((await r.call("ROLE")) as unknown[])[0];
  } finally {
    r.disconnect();
  }
};

describe("Redis topologies from the redis-server binary", () => {
  it("runs a Redis Cluster of 3 masters and 3 replicas, and stops all six", async () => {
    const cluster = await startRedisCluster();
    try {
      expect(cluster.env.REDIS_CLUSTER_NODES!.split(",")).toHaveLength(6);
      const masters = await cluster.masterPorts();
      expect(masters).toHaveLength(3);
      const roles = await Promise.all(cluster.dataPorts.map(role));
      expect(roles.filter((r) => r === "slave")).toHaveLength(3);
    } finally {
      await cluster.close();
    }
    expect(await answering(cluster.dataPorts)).toBe(0);
  });

  it("runs 1 master, 1 replica and 3 Sentinels that fail over when the master is killed, and stops all five", async () => {
    const sentinel = await startRedisSentinel();
    try {
      expect(sentinel.env.REDIS_SENTINEL_NAME).toBe("parley");
      const [master] = await sentinel.masterPorts();
      await sentinel.kill(master!);
      const replica = sentinel.dataPorts.find((p) => p !== master)!;
      await expect.poll(() => role(replica).catch(() => "down"), { timeout: 15_000, interval: 200 }).toBe("master");
    } finally {
      await sentinel.close();
    }
    expect(await answering([...sentinel.dataPorts, ...ports(sentinel.env)])).toBe(0);
  });
});
