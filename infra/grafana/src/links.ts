import { DashboardLinkBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { runbookUrl } from "@parley/prometheus-rules";

/** The alerts the dashboards link to (infra/prometheus defines them); each has its page docs/runbooks/<name>.md. */
export type AlertName =
  | "ParleySendLatencyBurnRate"
  | "ParleySendErrorBurnRate"
  | "ParleyPersisterLag"
  | "ParleyQueueGrowing"
  | "ParleyDependencyDown"
  | "ParleyPodsNotReady"
  | "ParleyHeartbeatLoss"
  | "ParleyHandshakeFailures"
  | "ParleyJobsFailing"
  | "ParleyMetricsAbsent"
  | "ParleyRedisMemoryHigh"
  | "ParleyModerationFailing"
  | "ParleyRetentionBehind";

/**
 * A panel link to the runbook of an alert the panel helps to diagnose: the page the alert's
 * own runbook_url names, built by the rules' runbookUrl so the two cannot drift apart.
 */
export function runbookLink(alert: AlertName, runbookBaseUrl: string): DashboardLinkBuilder {
  return new DashboardLinkBuilder(`Runbook: ${alert}`).url(runbookUrl(alert, runbookBaseUrl)).targetBlank(true);
}
