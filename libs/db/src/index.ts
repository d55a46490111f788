export * from "./client.js";
export * from "./schema.js";
export * from "./migrate.js";
export * from "./message-row.js";
export * from "./persist-batch.js";
export * from "./read-messages.js";
export * from "./conversations.js";
export * from "./users.js";
