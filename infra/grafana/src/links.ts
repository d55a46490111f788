import { DashboardLinkBuilder } from "@grafana/grafana-foundation-sdk/dashboard";

/**
 * Where the repository's docs/ is served (the same place as the alert rules' runbook_url,
 * infra/prometheus). Change it to your fork or internal mirror and run
 * `npm run generate -w @parley/grafana`; the dashboards' runbook links are built from it.
 */
export const DOCS_BASE_URL = "https://github.com/example/parley/blob/main/docs";

/** The alerts the dashboards link to; each has a runbook section `#runbook-<name lowercased>`. */
export type AlertName =
  | "ParleySendLatencyBurnRate"
  | "ParleySendErrorBurnRate"
  | "ParleyPersisterLag"
  | "ParleyQueueGrowing"
  | "ParleyDependencyDown"
  | "ParleyPodsNotReady"
  | "ParleyHeartbeatLoss"
  | "ParleyHandshakeFailures"
  | "ParleyJobsFailing";

export function runbookUrl(alert: AlertName, base: string = DOCS_BASE_URL): string {
  return `${base}/operations.md#runbook-${alert.toLowerCase()}`;
}

/** A panel link to the runbook of an alert the panel helps to diagnose. */
export function runbookLink(alert: AlertName): DashboardLinkBuilder {
  return new DashboardLinkBuilder(`Runbook: ${alert}`).url(runbookUrl(alert)).targetBlank(true);
}
