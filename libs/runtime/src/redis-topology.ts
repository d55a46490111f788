/**
 * Which Redis a service talks to (protocol.md, "Additions in v1.1 / Redis topologies"):
 * exactly one of REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS (+ REDIS_SENTINEL_NAME).
 * Parsed once by commonConfig; createRedis opens every connection of a service from it.
 */
export interface RedisEndpoint {
  host: string;
  port: number;
}

/** Credentials and TLS of the cluster and Sentinel forms (a URL carries its own). */
export interface RedisAuth {
  username?: string;
  password?: string;
  tls: boolean;
}

export type RedisTopology =
  | { kind: "single"; url: string }
  | ({ kind: "cluster"; nodes: RedisEndpoint[] } & RedisAuth)
  | ({ kind: "sentinel"; sentinels: RedisEndpoint[]; name: string } & RedisAuth);

/** The variables the topology is read from (CommonEnv, already parsed). */
export interface RedisTopologyEnv {
  REDIS_URL?: string;
  REDIS_CLUSTER_NODES?: string[];
  REDIS_SENTINELS?: string[];
  REDIS_SENTINEL_NAME?: string;
  REDIS_USERNAME?: string;
  REDIS_PASSWORD?: string;
  REDIS_TLS: boolean;
}

const FORMS = "REDIS_URL, REDIS_CLUSTER_NODES, or REDIS_SENTINELS with REDIS_SENTINEL_NAME";

/**
 * The one topology the environment names, or an Error whose message says what to set: zero
 * forms and two forms both stop the start (a guess could point a pod at the wrong Redis).
 */
export function redisTopologyOf(env: RedisTopologyEnv): RedisTopology {
  const given = [
    env.REDIS_URL !== undefined && "REDIS_URL",
    env.REDIS_CLUSTER_NODES !== undefined && "REDIS_CLUSTER_NODES",
    env.REDIS_SENTINELS !== undefined && "REDIS_SENTINELS",
  ].filter((name): name is string => name !== false);
  if (given.length === 0) throw new Error(`no Redis configured: set exactly one of ${FORMS}`);
  if (given.length > 1) throw new Error(`Redis configured twice (${given.join(" and ")}): set exactly one of ${FORMS}`);
  const auth: RedisAuth = { username: env.REDIS_USERNAME, password: env.REDIS_PASSWORD, tls: env.REDIS_TLS };
  if (env.REDIS_URL !== undefined) {
    if (env.REDIS_USERNAME !== undefined || env.REDIS_PASSWORD !== undefined) {
      throw new Error("REDIS_USERNAME and REDIS_PASSWORD apply to REDIS_CLUSTER_NODES and REDIS_SENTINELS; with REDIS_URL put the credentials in the URL (redis://user:password@host:port)");
    }
    if (env.REDIS_SENTINEL_NAME !== undefined) throw new Error("REDIS_SENTINEL_NAME needs REDIS_SENTINELS, not REDIS_URL");
    return { kind: "single", url: env.REDIS_TLS ? withTls(env.REDIS_URL) : env.REDIS_URL };
  }
  if (env.REDIS_CLUSTER_NODES !== undefined) {
    if (env.REDIS_SENTINEL_NAME !== undefined) throw new Error("REDIS_SENTINEL_NAME needs REDIS_SENTINELS, not REDIS_CLUSTER_NODES");
    return { kind: "cluster", nodes: endpoints("REDIS_CLUSTER_NODES", env.REDIS_CLUSTER_NODES), ...auth };
  }
  if (env.REDIS_SENTINEL_NAME === undefined) throw new Error("REDIS_SENTINELS needs REDIS_SENTINEL_NAME (the monitored master's name)");
  return { kind: "sentinel", sentinels: endpoints("REDIS_SENTINELS", env.REDIS_SENTINELS!), name: env.REDIS_SENTINEL_NAME, ...auth };
}

/** `host:port,host:port` → endpoints; an empty list or a bad entry names the variable. */
function endpoints(variable: string, entries: string[]): RedisEndpoint[] {
  if (entries.length === 0) throw new Error(`${variable} is empty: give comma-separated host:port`);
  return entries.map((entry) => {
    const match = /^(.+):(\d{1,5})$/.exec(entry);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65_535) throw new Error(`${variable}: "${entry}" is not host:port`);
    // [::1]:6379 → ::1 (ioredis takes the bare address).
    return { host: match[1]!.replace(/^\[(.*)\]$/, "$1"), port };
  });
}

/** `redis://…` → `rediss://…`: ioredis speaks TLS for a `rediss:` URL, so REDIS_TLS needs no option on every connection. */
const withTls = (url: string) => url.replace(/^redis:\/\//i, "rediss://");

/** For logs and the start banner: where Redis is, never a password. */
export function describeRedisTopology(topology: RedisTopology): string {
  switch (topology.kind) {
    case "single": {
      const url = new URL(topology.url);
      return `single ${url.protocol}//${url.host}`;
    }
    case "cluster":
      return `cluster ${topology.nodes.map((n) => `${n.host}:${n.port}`).join(",")}${topology.tls ? " (TLS)" : ""}`;
    case "sentinel":
      return `sentinel "${topology.name}" via ${topology.sentinels.map((n) => `${n.host}:${n.port}`).join(",")}${topology.tls ? " (TLS)" : ""}`;
  }
}
