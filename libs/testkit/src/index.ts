export * from "./free-port.js";
export * from "./docker.js";
export * from "./server-binaries.js";
export * from "./server-handle.js";
export * from "./redis-server.js";
export * from "./postgres-server.js";
export * from "./create-database.js";
export * from "./tokens.js";
export { redisPing } from "./resp-ping.js";
