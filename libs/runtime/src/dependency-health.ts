import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { Gauge, type Registry } from "prom-client";

export type Dependency = "redis" | "postgres";

export interface DependencyHealthOptions {
  registry: Registry;
  /** The service's fail-fast (producer) connection: a PING on it fails at once while Redis is away. */
  redis: Redis;
  /** A trivial query; a failure or a slow answer means Postgres is out of reach. */
  pingDatabase: () => Promise<unknown>;
  draining: () => boolean;
  /** Checks run this often even when nobody probes, so `parley_up` falls without `/readyz` traffic. */
  intervalMs: number;
  /** Probes come often; a check's answer is reused for this long. */
  cacheMs?: number;
  /** A ping not answered within this counts as out of reach. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface DependencyHealth {
  /** `/readyz`: not while draining, nor while Redis or Postgres is out of reach. */
  ready(): Promise<boolean>;
  /** Checks once now, then every `intervalMs`. */
  start(): void;
  stop(): void;
}

/**
 * Readiness and the `parley_up{dependency}` / `parley_ready` gauges, from one set of checks:
 * a probe and the periodic timer share the same check (and its cached answer), so the gauges
 * say exactly what `/readyz` answers.
 */
export function createDependencyHealth(opts: DependencyHealthOptions): DependencyHealth {
  const cacheMs = opts.cacheMs ?? 1_000;
  const timeoutMs = opts.timeoutMs ?? 1_000;
  let last: Record<Dependency, boolean> & { at: number } = { redis: false, postgres: false, at: 0 };
  // The connection's status is read at every use: a dropped socket shows at once, while the
  // PING of the last check also catches a connection that is open but no longer answers.
  const redisUp = () => last.redis && opts.redis.status === "ready";

  new Gauge({
    name: "parley_up",
    help: "1 when the dependency (redis, postgres) answered this process's last check, 0 when not. Checked every DEPENDENCY_CHECK_MS and by readiness probes.",
    labelNames: ["dependency"] as const,
    registers: [opts.registry],
    collect() {
      this.set({ dependency: "redis" }, redisUp() ? 1 : 0);
      this.set({ dependency: "postgres" }, last.postgres ? 1 : 0);
    },
  });
  new Gauge({
    name: "parley_ready",
    help: "1 when this process is ready (what /readyz answers), 0 while draining or while Redis or Postgres is out of reach.",
    registers: [opts.registry],
    collect() {
      this.set(!opts.draining() && redisUp() && last.postgres ? 1 : 0);
    },
  });

  // Redis's memory against its limit, read with each check (best effort: a Redis that refuses
  // INFO is still up). With noeviction a full Redis refuses every write, so this is what the
  // ParleyRedisMemoryHigh alert watches.
  let memory: RedisMemory | undefined;
  new Gauge({
    name: "parley_redis_memory_used_bytes",
    help: "Redis's used_memory (INFO memory), read with each dependency check (every DEPENDENCY_CHECK_MS).",
    registers: [opts.registry],
    collect() {
      if (memory) this.set(memory.used);
    },
  });
  new Gauge({
    name: "parley_redis_memory_max_bytes",
    help: "Redis's maxmemory (INFO memory; 0: no limit set), read with each dependency check.",
    registers: [opts.registry],
    collect() {
      if (memory) this.set(memory.max);
    },
  });
  const readMemory = async () => {
    if (opts.redis.status !== "ready") return;
    const parsed = parseRedisMemory(await opts.redis.info("memory"));
    if (parsed) memory = parsed;
  };

  const within = async (work: () => Promise<unknown>): Promise<boolean> => {
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      // A synchronous throw is a failed check too, not an escaped exception.
      Promise.resolve()
        .then(work)
        .then(
          () => true,
          () => false,
        ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return answered;
  };

  const report = (dependency: Dependency, was: boolean, now: boolean, first: boolean) => {
    if (was === now || (first && now)) return;
    if (now) opts.logger?.info({ dependency }, `${dependency} answers again`);
    else opts.logger?.warn({ dependency, timeoutMs }, `${dependency} is out of reach`);
  };

  // Probes and the timer that arrive while a check is out share it instead of starting their
  // own: a slow database would otherwise collect one query per probe.
  let inFlight: Promise<void> | undefined;
  const check = () =>
    (inFlight ??= (async () => {
      const [redis, postgres] = await Promise.all([
        within(() => (opts.redis.status === "ready" ? opts.redis.ping() : Promise.reject(new Error(opts.redis.status)))),
        within(opts.pingDatabase),
        within(readMemory),
      ]);
      const first = last.at === 0;
      report("redis", last.redis, redis, first);
      report("postgres", last.postgres, postgres, first);
      last = { redis, postgres, at: Date.now() };
    })().finally(() => {
      inFlight = undefined;
    }));

  let timer: NodeJS.Timeout | undefined;
  // A reconnect is checked at once instead of at the next tick, so parley_up comes back with it.
  const onReconnect = () => void check();
  return {
    async ready() {
      if (opts.draining() || opts.redis.status !== "ready") return false;
      // A cached "Redis down" is not trusted once the connection is back: readiness follows
      // Redis's connection at once, as it always has; Postgres answers are kept for cacheMs.
      if (Date.now() - last.at > cacheMs || !last.redis) await check();
      return redisUp() && last.postgres;
    },
    start() {
      if (timer) return;
      void check();
      timer = setInterval(() => void check(), opts.intervalMs);
      timer.unref();
      opts.redis.on("ready", onReconnect);
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      opts.redis.off("ready", onReconnect);
    },
  };
}

export interface RedisMemory {
  used: number;
  /** 0: no maxmemory set. */
  max: number;
}

/** `used_memory` and `maxmemory` from an `INFO memory` answer; undefined when either is missing. */
export function parseRedisMemory(info: string): RedisMemory | undefined {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:(\\d+)\\s*$`, "m").exec(info);
    return match ? Number(match[1]) : undefined;
  };
  const used = field("used_memory");
  const max = field("maxmemory");
  return used === undefined || max === undefined ? undefined : { used, max };
}
