import type { BuiltDashboard, DashboardOptions } from "../compose.js";
import { deliveryDashboard } from "./delivery.js";
import { gatewayDashboard } from "./gateway.js";
import { overviewDashboard } from "./overview.js";
import { persisterDashboard } from "./persister.js";
import { runtimeDashboard } from "./runtime.js";

/** Every Parley dashboard, in the order of the docs. */
export function buildDashboards(options: DashboardOptions = {}): BuiltDashboard[] {
  return [overviewDashboard(options), gatewayDashboard(options), persisterDashboard(options), deliveryDashboard(options), runtimeDashboard(options)];
}
