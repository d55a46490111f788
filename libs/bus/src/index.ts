export * from "./rooms.js";
export * from "./jobs.js";
export * from "./room-emitter.js";
export * from "./keyspace.js";
export * from "./presence-store.js";
export * from "./presence-scripts.js";
export * from "./persist-stream.js";
