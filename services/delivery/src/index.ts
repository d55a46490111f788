export { buildDelivery, type DeliveryDeps } from "./app.js";
export { DeliveryEnv, loadEnv } from "./env.js";
