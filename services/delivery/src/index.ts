export { buildDelivery, type Delivery, type DeliveryDeps } from "./app.js";
export { DeliveryEnv, loadConfig, type DeliveryConfig } from "./env.js";
export type { DeliveryContext, DeliveryModule } from "./module.js";
export type { Notification, Notifier } from "./notifications/notifier.js";
export { NotificationRejectedError } from "./notifications/notification-rejected-error.js";
export { createWebhookNotifier, webhookPayload } from "./notifications/webhook-notifier.js";
export { DELIVERY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signWebhook, verifyWebhook } from "@parley/runtime";
export { createPresenceModule, type PresenceModule, type PresenceModuleDeps } from "./presence/presence-module.js";
export { PresenceAnnouncer, type PresenceAnnouncerConfig } from "./presence/presence-announcer.js";
