import { describe, expect, it } from "vitest";
import { CommonEnv, commonConfig, parseEnv } from "./env.js";
import { describeRedisTopology } from "./redis-topology.js";

const load = (env: Record<string, string>) => commonConfig(parseEnv(CommonEnv, env), "test").redis;

describe("Redis topology (protocol.md, Redis topologies)", () => {
  it("takes one server from REDIS_URL, TLS by rediss:// or REDIS_TLS", () => {
    expect(load({ REDIS_URL: "redis://r:6379" })).toEqual({ kind: "single", url: "redis://r:6379" });
    expect(load({ REDIS_URL: "redis://r:6379", REDIS_TLS: "true" })).toEqual({ kind: "single", url: "rediss://r:6379" });
    expect(() => load({ REDIS_URL: "http://r:6379" })).toThrow(/REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
  });

  it("takes a Redis Cluster's seed nodes with credentials and TLS", () => {
    expect(load({ REDIS_CLUSTER_NODES: "a:7000, b:7001,[::1]:7002", REDIS_USERNAME: "parley", REDIS_PASSWORD: "pw", REDIS_TLS: "true" })).toEqual({
      kind: "cluster",
      nodes: [{ host: "a", port: 7000 }, { host: "b", port: 7001 }, { host: "::1", port: 7002 }],
      username: "parley",
      password: "pw",
      tls: true,
    });
    expect(() => load({ REDIS_CLUSTER_NODES: "a:7000,b" })).toThrow(/REDIS_CLUSTER_NODES: "b" is not host:port/);
    expect(() => load({ REDIS_CLUSTER_NODES: " , " })).toThrow(/REDIS_CLUSTER_NODES is empty/);
  });

  it("takes Sentinels with the master's name, and refuses Sentinels without one", () => {
    expect(load({ REDIS_SENTINELS: "s1:26379,s2:26379", REDIS_SENTINEL_NAME: "parley" })).toEqual({
      kind: "sentinel",
      sentinels: [{ host: "s1", port: 26379 }, { host: "s2", port: 26379 }],
      name: "parley",
      username: undefined,
      password: undefined,
      tls: false,
    });
    expect(() => load({ REDIS_SENTINELS: "s1:26379" })).toThrow(/REDIS_SENTINELS needs REDIS_SENTINEL_NAME/);
    expect(() => load({ REDIS_URL: "redis://r:6379", REDIS_SENTINEL_NAME: "parley" })).toThrow(/REDIS_SENTINEL_NAME needs REDIS_SENTINELS/);
  });

  it("stops the start with one message for zero forms and for two", () => {
    expect(() => load({})).toThrow("no Redis configured: set exactly one of REDIS_URL, REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_NAME");
    expect(() => load({ REDIS_URL: "redis://r:6379", REDIS_CLUSTER_NODES: "a:7000" })).toThrow(/Redis configured twice \(REDIS_URL and REDIS_CLUSTER_NODES\)/);
    expect(() => load({ REDIS_CLUSTER_NODES: "a:7000", REDIS_SENTINELS: "s:26379", REDIS_SENTINEL_NAME: "m" })).toThrow(/configured twice/);
    expect(() => load({ REDIS_URL: "redis://r:6379", REDIS_PASSWORD: "pw" })).toThrow(/put the credentials in the URL/);
  });

  it("describes a topology without its password", () => {
    expect(describeRedisTopology({ kind: "single", url: "redis://:secret@r:6379" })).toBe("single redis://r:6379");
    expect(describeRedisTopology({ kind: "cluster", nodes: [{ host: "a", port: 1 }], password: "secret", tls: false })).toBe("cluster a:1");
  });
});

describe("Redis credentials from a Secret shared with KEDA", () => {
  it("takes an empty REDIS_PASSWORD or REDIS_USERNAME as unset", () => {
    expect(load({ REDIS_URL: "redis://r:6379", REDIS_PASSWORD: "", REDIS_USERNAME: "" })).toEqual({ kind: "single", url: "redis://r:6379" });
    expect(load({ REDIS_CLUSTER_NODES: "a:1", REDIS_PASSWORD: "" })).toMatchObject({ kind: "cluster", password: undefined });
  });
});
