import { alert, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * Redis's used memory against its `maxmemory`, as the services read it (`INFO memory` with each
 * dependency check; max over pods, which all read the same Redis). Parley requires
 * `noeviction`: a full Redis refuses every write, and sends, rate limits, presence and the
 * queues fail together. A Redis without a limit (`maxmemory` 0) is left out: it has none to
 * reach (the host's memory is the node's monitoring's business).
 * Warning at 80 % for 10 minutes (time to find what grows: the persist stream during a
 * Postgres outage, a queue backlog); critical at 90 % for 5 minutes (writes are about to fail).
 */
const ratio = [
  `max by (${BY_NAMESPACE}) (parley_redis_memory_used_bytes)`,
  "/",
  `max by (${BY_NAMESPACE}) (parley_redis_memory_max_bytes > 0)`,
].join("\n");

export const REDIS_MEMORY_WARNING_RATIO = 0.8;
export const REDIS_MEMORY_CRITICAL_RATIO = 0.9;

export const redisMemoryHigh: RuleGroup = {
  name: "parley-redis-memory",
  rules: [
    alert({
      name: "ParleyRedisMemoryHigh",
      severity: "critical",
      expr: `${ratio}\n> ${REDIS_MEMORY_CRITICAL_RATIO}`,
      for: "5m",
      summary: "Redis is nearly full: writes will fail",
      description:
        "Redis uses {{ $value | humanizePercentage }} of its maxmemory. With noeviction, at 100 % every send, rate limit, presence update and queue write fails.",
    }),
    alert({
      name: "ParleyRedisMemoryHigh",
      severity: "warning",
      expr: `${ratio}\n> ${REDIS_MEMORY_WARNING_RATIO}`,
      for: "10m",
      summary: "Redis is filling up",
      description: "Redis has used {{ $value | humanizePercentage }} of its maxmemory for 10 minutes.",
    }),
  ],
};
