import type { BuiltDashboard } from "../compose.js";
import { deliveryDashboard } from "./delivery.js";
import { gatewayDashboard } from "./gateway.js";
import { overviewDashboard } from "./overview.js";
import { persisterDashboard } from "./persister.js";
import { runtimeDashboard } from "./runtime.js";

/** Every Parley dashboard, in the order of the docs. */
export function buildDashboards(): BuiltDashboard[] {
  return [overviewDashboard(), gatewayDashboard(), persisterDashboard(), deliveryDashboard(), runtimeDashboard()];
}
