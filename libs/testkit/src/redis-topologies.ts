import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";
import { ManagedProcess } from "./managed-process.js";
import { redisServerProcess, TEST_REDIS_ARGS } from "./redis-server.js";
import { redisPing } from "./resp-ping.js";
import { ensureServerBinaries } from "./server-binaries.js";

/**
 * The Redis topologies a Parley service can be given (protocol.md, "Redis topologies"), run
 * here from the `redis-server` binary on loopback (never a container: a cluster's nodes
 * announce their own addresses, which must be the ones the services can reach):
 * - `startRedisCluster`: a Redis Cluster of 3 masters and 3 replicas;
 * - `startRedisSentinel`: 1 master, 1 replica and 3 Sentinels (`redis-server --sentinel`).
 * Each stops every process it started on every path: a start that fails part-way stops what
 * it had started before throwing, and close() stops all of it (SIGTERM, SIGKILL after 10 s).
 * Their processes stay in the caller's process group, so a test run that dies is reaped
 * with them (process-group.ts).
 */
export interface RedisTopologyHandle {
  kind: "cluster" | "sentinel";
  /** The environment a service gets for this topology (REDIS_CLUSTER_NODES or REDIS_SENTINELS + REDIS_SENTINEL_NAME). */
  env: Record<string, string>;
  /** One line for banners and logs. */
  description: string;
  /** Ports of the Redis data nodes (masters and replicas; not the Sentinels). */
  dataPorts: number[];
  /** Ports of the data nodes that are masters now (asked of the nodes, so right after a failover too). */
  masterPorts(): Promise<number[]>;
  /** SIGKILLs the node on `port` (a crash, for failover tests). */
  kill(port: number): Promise<void>;
  /** Stops every process and removes the working directories. Safe to call twice. */
  close(): Promise<void>;
}

export interface StartTopologyOptions {
  /** Where the nodes keep their files, one subdirectory each; kept on close() (default: a temp dir, removed). */
  dir?: string;
  /** Own process groups (ManagedProcessOptions.detached): `npm start`, where Ctrl-C must reach only the script. */
  detached?: boolean;
  /** Append-only files (fsync every second) in `dir`, for `npm start`. Default false: tests want nothing on disk. */
  persist?: boolean;
  /** startRedisCluster only: a replica per master (default true); false starts the 3 masters alone (the benchmark's cost of the cluster without replication). */
  replicas?: boolean;
}

const PERSIST_ARGS = ["--appendonly", "yes", "--appendfsync", "everysec"];
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it holds, or throws `what` after `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Redis topology: ${what} did not happen within ${timeoutMs} ms`);
    await delay(100);
  }
}

/** A short-lived admin connection that fails at once when the node is away. */
async function withNode<T>(port: number, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false, connectTimeout: 1_000 });
  redis.on("error", () => {});
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** The processes started so far and the directory: what every path of a start must stop and remove. */
class Started {
  readonly processes = new Map<number, ManagedProcess>();
  constructor(
    readonly dir: string,
    private readonly ownDir: boolean,
  ) {}

  async start(port: number, name: string, args: string[], detached: boolean | undefined): Promise<void> {
    const nodeDir = join(this.dir, String(port));
    await mkdir(nodeDir, { recursive: true });
    await this.run(port, redisServerProcess({ port, dir: nodeDir, args, detached, name }));
  }

  /** Starts `process`, counted as started before it is (a failed start is still stopped by close()). */
  async run(port: number, process: ManagedProcess): Promise<void> {
    this.processes.set(port, process);
    await process.start();
  }

  async kill(port: number): Promise<void> {
    const process = this.processes.get(port);
    if (!process) throw new Error(`Redis topology: no node on port ${port}`);
    await process.kill();
  }

  private closing: Promise<void> | undefined;
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await Promise.allSettled([...this.processes.values()].map((p) => p.stop()));
      if (this.ownDir) await rm(this.dir, { recursive: true, force: true });
    })());
  }
}

async function workDir(options: StartTopologyOptions, prefix: string): Promise<Started> {
  return options.dir === undefined ? new Started(await mkdtemp(join(tmpdir(), prefix)), true) : new Started(options.dir, false);
}

/** Runs `build`; if it throws, everything started so far is stopped before the error goes on. */
async function orCleanUp<T>(started: Started, build: () => Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (error) {
    await started.close();
    throw error;
  }
}

const SLOTS = 16_384;

/**
 * A Redis Cluster of 3 masters and 3 replicas on loopback. The slots are assigned and the
 * nodes introduced here (CLUSTER ADDSLOTSRANGE, MEET, REPLICATE), as `redis-cli --cluster
 * create` does; it resolves once every node reports the cluster ok and every replica is in
 * sync with its master. A node declares a silent peer failed after 2 s
 * (`cluster-node-timeout`), so a killed master's replica takes over within a few seconds.
 */
export async function startRedisCluster(options: StartTopologyOptions = {}): Promise<RedisTopologyHandle> {
  const started = await workDir(options, "parley-redis-cluster-");
  return orCleanUp(started, async () => {
    const withReplicas = options.replicas ?? true;
    const nodes = withReplicas ? 6 : 3;
    const ports: number[] = [];
    for (let i = 0; i < nodes; i++) ports.push(await freePort());
    const args = [
      ...TEST_REDIS_ARGS,
      ...(options.persist ? PERSIST_ARGS : []),
      "--cluster-enabled", "yes",
      "--cluster-config-file", "nodes.conf",
      "--cluster-node-timeout", "2000",
      // A replica may always take over, however long its link was down (a test kills masters at will).
      "--cluster-replica-validity-factor", "0",
    ];
    await Promise.all(ports.map((port) => started.start(port, `redis-cluster:${port}`, args, options.detached)));
    const [masters, replicas] = [ports.slice(0, 3), ports.slice(3)];
    const ids = await Promise.all(ports.map((port) => withNode(port, (r) => r.call("CLUSTER", "MYID") as Promise<string>)));
    // A node restarted from its files (npm start with a data dir) is already in a cluster.
    const known = await withNode(ports[0]!, (r) => r.call("CLUSTER", "INFO") as Promise<string>);
    if (!new RegExp(`cluster_known_nodes:${nodes}`).test(known)) {
      await Promise.all(
        masters.map((port, i) =>
          withNode(port, (r) => r.call("CLUSTER", "ADDSLOTSRANGE", String(Math.floor((SLOTS * i) / 3)), String(Math.floor((SLOTS * (i + 1)) / 3) - 1))),
        ),
      );
      await withNode(ports[0]!, async (r) => {
        for (const port of ports.slice(1)) await r.call("CLUSTER", "MEET", "127.0.0.1", String(port));
      });
      await until("every node knowing the others", async () =>
        (await Promise.all(ports.map((port) => withNode(port, (r) => r.call("CLUSTER", "NODES") as Promise<string>)))).every(
          (known) => known.trim().split("\n").length === nodes,
        ),
      );
      await Promise.all(replicas.map((port, i) => withNode(port, (r) => r.call("CLUSTER", "REPLICATE", ids[i]!))));
    }
    await until("the cluster reporting ok on every node, replicas in sync", async () => {
      const infos = await Promise.all(ports.map((port) => withNode(port, (r) => r.call("CLUSTER", "INFO") as Promise<string>)));
      if (!infos.every((info) => /cluster_state:ok/.test(info) && new RegExp(`cluster_known_nodes:${nodes}`).test(info))) return false;
      const links = await Promise.all(replicas.map((port) => withNode(port, (r) => r.info("replication"))));
      return links.every((info) => /master_link_status:up/.test(info));
    });
    const seeds = ports.map((port) => `127.0.0.1:${port}`).join(",");
    return {
      kind: "cluster" as const,
      env: { REDIS_CLUSTER_NODES: seeds },
      description: `Redis Cluster, 3 masters${withReplicas ? " + 3 replicas" : ", no replicas"} (${seeds})`,
      dataPorts: ports,
      masterPorts: async () => {
        const roles = await Promise.all(ports.map((port) => withNode(port, (r) => r.call("ROLE") as Promise<unknown[]>).catch(() => undefined)));
        return ports.filter((_, i) => roles[i]?.[0] === "master");
      },
      kill: (port) => started.kill(port),
      close: () => started.close(),
    };
  });
}

/** The master name the test Sentinels monitor (REDIS_SENTINEL_NAME). */
export const SENTINEL_MASTER_NAME = "parley";

/**
 * One master, one replica and three Sentinels on loopback. A Sentinel counts the master down
 * after 1 s of silence, two agree (quorum 2), and the replica is promoted; it resolves once
 * every Sentinel knows the replica and the other two Sentinels, so a failover can happen
 * from the first command on.
 */
export async function startRedisSentinel(options: StartTopologyOptions = {}): Promise<RedisTopologyHandle> {
  const started = await workDir(options, "parley-redis-sentinel-");
  return orCleanUp(started, async () => {
    const [master, replica] = [await freePort(), await freePort()];
    const sentinels = [await freePort(), await freePort(), await freePort()];
    const data = [...TEST_REDIS_ARGS, ...(options.persist ? PERSIST_ARGS : [])];
    await started.start(master, `redis-master:${master}`, data, options.detached);
    await started.start(replica, `redis-replica:${replica}`, [...data, "--replicaof", "127.0.0.1", String(master)], options.detached);
    await until("the replica in sync", () => withNode(replica, async (r) => /master_link_status:up/.test(await r.info("replication"))));
    for (const port of sentinels) {
      // A Sentinel rewrites its file (what it learns), so each gets its own, written before it starts.
      const file = join(started.dir, `sentinel-${port}.conf`);
      await writeFile(
        file,
        [
          `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master} 2`,
          `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
          `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 5000`,
          `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
          "",
        ].join("\n"),
      );
      await started.run(
        port,
        new ManagedProcess({
          name: `redis-sentinel:${port}`,
          command: ensureServerBinaries().redisServer,
          // The file comes first: redis-server reads its first argument as the configuration file.
          args: [file, "--sentinel", "--port", String(port), "--bind", "127.0.0.1", "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"],
          cwd: started.dir,
          detached: options.detached,
          isReady: () => redisPing(port),
          stopSignal: "SIGTERM",
        }),
      );
    }
    await until("every Sentinel knowing the replica and the other two", async () =>
      (
        await Promise.all(
          sentinels.map((port) =>
            withNode(port, async (r) => {
              const replicas = (await r.call("SENTINEL", "REPLICAS", SENTINEL_MASTER_NAME)) as unknown[];
              const peers = (await r.call("SENTINEL", "SENTINELS", SENTINEL_MASTER_NAME)) as unknown[];
              return replicas.length === 1 && peers.length === 2;
            }),
          ),
        )
      ).every(Boolean),
    );
    const list = sentinels.map((port) => `127.0.0.1:${port}`).join(",");
    return {
      kind: "sentinel" as const,
      env: { REDIS_SENTINELS: list, REDIS_SENTINEL_NAME: SENTINEL_MASTER_NAME },
      description: `Redis with Sentinel, 1 master + 1 replica, 3 Sentinels (${list}, master "${SENTINEL_MASTER_NAME}")`,
      dataPorts: [master, replica],
      masterPorts: async () => {
        const roles = await Promise.all([master, replica].map((port) => withNode(port, (r) => r.call("ROLE") as Promise<unknown[]>).catch(() => undefined)));
        return [master, replica].filter((_, i) => roles[i]?.[0] === "master");
      },
      kill: (port) => started.kill(port),
      close: () => started.close(),
    };
  });
}
