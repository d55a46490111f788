import { alert, type RuleGroup } from "../rule.js";
import { BY_NAMESPACE } from "../selectors.js";

/**
 * A gateway that drains takes its presence counts back itself; the delivery service sweeps
 * only pods whose heartbeat stopped (killed, OOM, node lost, partitioned from Redis). Their
 * users looked online until the sweep and had to reconnect.
 */
export const heartbeatLoss: RuleGroup = {
  name: "parley-presence",
  rules: [
    alert({
      name: "ParleyHeartbeatLoss",
      severity: "warning",
      cause: "swept",
      expr: `sum by (${BY_NAMESPACE}) (increase(parley_presence_swept_pods_total[10m])) > 0`,
      summary: "Gateway pods stopped heartbeating and were swept",
      description:
        "Gateway pods swept in the last 10 minutes: {{ $value | humanize }}. They stopped heartbeating without " +
        "draining; their users were shown online until the sweep and had to reconnect.",
    }),
    alert({
      name: "ParleyHeartbeatLoss",
      severity: "warning",
      cause: "heartbeat_errors",
      expr: `sum by (${BY_NAMESPACE}, job, instance) (rate(parley_presence_heartbeats_total{outcome="error"}[5m])) * 60 > 0`,
      for: "5m",
      summary: "A gateway pod's presence heartbeats fail",
      description:
        "{{ $labels.instance }} has failed presence heartbeats for 5 minutes ({{ $value | humanize }} a minute): " +
        "if it stays silent past PRESENCE_TTL_MS its users are swept offline.",
    }),
  ],
};
