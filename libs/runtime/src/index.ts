export * from "./logger.js";
export * from "./redis.js";
export * from "./metrics.js";
export * from "./ops-server.js";
export * from "./env.js";
export * from "./shutdown.js";
export * from "./startup.js";
export * from "./readiness.js";
