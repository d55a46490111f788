export { buildDelivery, type DeliveryDeps } from "./app.js";
export { DeliveryEnv, loadEnv } from "./env.js";
export { createPresenceModule, type PresenceModule, type PresenceModuleDeps } from "./presence/presence-module.js";
export { PresenceAnnouncer, type PresenceAnnouncerConfig } from "./presence/presence-announcer.js";
