import { Queue } from "bullmq";
import { DEFAULT_KEYSPACE } from "@parley/bus";
import { createLogger, createRedis, loadOrExit } from "@parley/runtime";
import { loadConfig } from "./env.js";
import { replayDeadEvents } from "./events/replay-dead-events.js";

// `npm run events:replay -w services/delivery`: the delivery service's environment (its Redis settings),
// every dead event of the events webhook back in its queue (docs/webhooks.md).
const config = loadOrExit("delivery", () => loadConfig());
const logger = createLogger({ service: "delivery", level: config.common.logLevel });
const redis = createRedis({ topology: config.common.redis, name: "events-replay", role: "consumer", logger });
const queue = new Queue("events", { connection: redis, prefix: DEFAULT_KEYSPACE.queuePrefix });
try {
  await replayDeadEvents(queue, logger);
} finally {
  await queue.close();
  redis.disconnect();
}
