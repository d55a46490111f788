export * from "./errors.js";
export * from "./limits.js";
export * from "./entities.js";
export * from "./events.js";
export * from "./http.js";
export * from "./validate.js";
export * from "./well-formed.js";
