import type { Redis } from "ioredis";

export interface ReadinessOptions {
  redis: Redis;
  /** A trivial query; a failure or a slow answer means Postgres is out of reach. */
  pingDatabase: () => Promise<unknown>;
  draining: () => boolean;
  /** Probes come often; the database answer is reused for this long. */
  cacheMs?: number;
  timeoutMs?: number;
}

/**
 * `/readyz` for every service: not ready while draining, while Redis is not connected, or
 * while Postgres does not answer within `timeoutMs`.
 */
export function createReadiness(opts: ReadinessOptions): () => Promise<boolean> {
  const cacheMs = opts.cacheMs ?? 1_000;
  const timeoutMs = opts.timeoutMs ?? 1_000;
  let last = { ok: false, at: 0 };
  // Probes that arrive while a ping is out share it instead of starting their own: a slow
  // database would otherwise collect one query per probe.
  let inFlight: Promise<boolean> | undefined;
  const ping = async () => {
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      opts.pingDatabase().then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    last = { ok, at: Date.now() };
    return ok;
  };
  return async () => {
    if (opts.draining() || opts.redis.status !== "ready") return false;
    if (Date.now() - last.at <= cacheMs) return last.ok;
    inFlight ??= ping().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  };
}
