import { type BuiltDashboard, type DashboardOptions, ParleyDashboard } from "../compose.js";
import { heatmap, timeseries } from "../panels.js";
import { POD_LABELS, POD_LEGEND } from "../promql.js";
import { SEND_ACK_OBJECTIVE_SECONDS, TYPING_SHED_DELAY_SECONDS } from "./shared.js";

/** The gateway pods: connections, client events, the send path, sync and search, typing, event loop. */
export function gatewayDashboard(options: DashboardOptions = {}): BuiltDashboard {
  const d = new ParleyDashboard({
    uid: "parley-gateway",
    title: "Parley / Gateway",
    description: "Gateway pods: sockets and handshakes, client events, send→ack latency, pending acks, sync and search, typing, event-loop delay, safety and moderation.",
    tags: ["gateway"],
    podsFrom: "parley_gateway_connected_sockets",
  }, options);
  const { q } = d;
  const sendAck = "parley_gateway_send_ack_seconds";

  d.row("Connections")
    .panel(
      timeseries({
        title: "Sockets per pod",
        description: "Sockets connected to each gateway pod. The autoscaler targets 5,000 per pod (docs/operations.md, Scaling).",
        queries: [{ expr: `sum by (${POD_LABELS.join(", ")}) (${q.sel("parley_gateway_connected_sockets")})`, legend: POD_LEGEND }],
        unit: "short",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Handshakes by outcome",
        description: "Socket handshakes per second: accepted, refused for the token (AUTH_*), origin (outside CORS_ORIGINS), UNAVAILABLE (Redis or Postgres), INTERNAL, draining (pod shutting down).",
        queries: [{ expr: q.sumRate(["outcome"], "parley_gateway_handshakes_total"), legend: "{{outcome}}" }],
        unit: "reqps",
        min: 0,
        runbooks: ["ParleyHandshakeFailures"],
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Disconnects by reason",
        description: "Socket disconnects per second by Socket.IO reason (transport close, ping timeout, server namespace disconnect during a drain, …).",
        queries: [{ expr: q.sumRate(["reason"], "parley_gateway_disconnects_total"), legend: "{{reason}}" }],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Rate limited",
        description: "Sends refused with RATE_LIMITED per second, per pod.",
        queries: [{ expr: q.sumRate(POD_LABELS, "parley_gateway_rate_limited_total"), legend: POD_LEGEND }],
        unit: "ops",
        min: 0,
      }),
    );

  d.row("Client events")
    .panel(
      timeseries({
        title: "Events by name and outcome",
        description: "Socket.IO client events answered per second, by event name and outcome: ok or the error code answered. HTTP requests are not counted here (sends over HTTP are in the send panels).",
        queries: [{ expr: q.sumRate(["event", "outcome"], "parley_gateway_events_total"), legend: "{{event}} {{outcome}}" }],
        unit: "ops",
        min: 0,
        width: 24,
      }),
      { core: true },
    );

  d.row("Send path")
    .panel(
      heatmap({
        title: "Send→ack latency distribution",
        description: "Sends per latency bucket over time, every outcome (from the send arriving to its answer).",
        queries: [{ expr: q.heatmap(`${sendAck}`) }],
        unit: "s",
      }),
    )
    .panel(
      timeseries({
        title: "Send→ack percentiles",
        description: `Successful sends: p50, p90 and p99 of all gateways, and p99 per pod. The dashed line is the objective (p99 ≤ ${SEND_ACK_OBJECTIVE_SECONDS * 1000} ms).`,
        queries: [
          { expr: q.quantile(0.5, sendAck, [], `outcome="ok"`), legend: "p50" },
          { expr: q.quantile(0.9, sendAck, [], `outcome="ok"`), legend: "p90" },
          { expr: q.quantile(0.99, sendAck, [], `outcome="ok"`), legend: "p99" },
          { expr: q.quantile(0.99, sendAck, POD_LABELS, `outcome="ok"`), legend: `p99 ${POD_LEGEND}` },
        ],
        unit: "s",
        min: 0,
        thresholdLine: SEND_ACK_OBJECTIVE_SECONDS,
        runbooks: ["ParleySendLatencyBurnRate"],
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Sends by outcome",
        description: "Sends answered per second by outcome (ok or the error code).",
        queries: [{ expr: q.sumRate(["outcome"], `${sendAck}_count`), legend: "{{outcome}}" }],
        unit: "suffix: msg/s",
        min: 0,
        runbooks: ["ParleySendErrorBurnRate"],
      }),
    )
    .panel(
      timeseries({
        title: "Pending acks",
        description: "Sends waiting for the persister's commit, per pod. Grows with persister lag; bounded by SEND_TIMEOUT_MS.",
        queries: [{ expr: `sum by (${POD_LABELS.join(", ")}) (${q.sel("parley_gateway_pending_acks")})`, legend: POD_LEGEND }],
        unit: "short",
        min: 0,
      }),
      { core: true },
    )
    .panel(
      timeseries({
        title: "Enqueued per second",
        description: "Messages handed to the persist stream, and delivered watermarks handed to the receipts queue (after coalescing).",
        queries: [
          { expr: `sum(${q.rate("parley_gateway_enqueued_messages_total")})`, legend: "messages → persist" },
          { expr: `sum(${q.rate("parley_gateway_delivered_enqueued_total")})`, legend: "delivered → receipts" },
        ],
        unit: "ops",
        min: 0,
        width: 24,
      }),
    );

  d.row("Sync and search")
    .panel(
      timeseries({
        title: "Sync requests by outcome",
        description: "sync requests per second by outcome (ok or the error code). Bursts follow reconnect waves (rollouts, scale-down).",
        queries: [{ expr: q.sumRate(["outcome"], "parley_gateway_sync_total"), legend: "{{outcome}}" }],
        unit: "reqps",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Messages per sync page",
        description: "Messages returned by one catch-up read, by request: a whole sync answer (at most 2,000) or one history page. p50, p99 and the mean.",
        queries: [
          { expr: q.quantile(0.5, "parley_gateway_sync_messages", ["request"]), legend: "p50 {{request}}" },
          { expr: q.quantile(0.99, "parley_gateway_sync_messages", ["request"]), legend: "p99 {{request}}" },
          { expr: q.mean("parley_gateway_sync_messages", ["request"]), legend: "mean {{request}}" },
        ],
        unit: "short",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Search latency",
        description: "GET /v1/search from arrival to answer: p50 and p99.",
        queries: [
          { expr: q.quantile(0.5, "parley_gateway_search_seconds"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_gateway_search_seconds"), legend: "p99" },
        ],
        unit: "s",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Searches by outcome",
        description: "Searches per second by outcome (ok or the error code).",
        queries: [{ expr: q.sumRate(["outcome"], "parley_gateway_search_seconds_count"), legend: "{{outcome}}" }],
        unit: "reqps",
        min: 0,
      }),
    );

  d.row("Moderation")
    .panel(
      timeseries({
        title: "Moderation decisions",
        description: "Sends shown to the moderation webhook per second by decision: allow, reject, replace; failed_open / failed_closed (no usable answer in MODERATION_TIMEOUT_MS, MODERATION_FAIL_OPEN decided); saturated (refused UNAVAILABLE before the call, MODERATION_MAX_CONCURRENT in flight). Empty without MODERATION_WEBHOOK_URL.",
        queries: [{ expr: q.sumRate(["decision"], "parley_gateway_moderation_decisions_total"), legend: "{{decision}}" }],
        unit: "ops",
        min: 0,
        runbooks: ["ParleyModerationFailing"],
      }),
    )
    .panel(
      timeseries({
        title: "Moderation webhook latency",
        description: "p50 and p99 of one moderation call, request to answer: the time it adds to every send. Above MODERATION_TIMEOUT_MS a call counts as an error.",
        queries: [
          { expr: q.quantile(0.5, "parley_gateway_moderation_seconds"), legend: "p50" },
          { expr: q.quantile(0.99, "parley_gateway_moderation_seconds"), legend: "p99" },
        ],
        unit: "s",
        min: 0,
      }),
    );

  d.row("Typing and event loop")
    .panel(
      timeseries({
        title: "Typing",
        description: "typing events forwarded to rooms by cause (start, stop, expired, gone), refreshes throttled, and typing:start shed under pressure (event-loop delay over the threshold).",
        queries: [
          { expr: q.sumRate(["cause"], "parley_typing_forwarded_total"), legend: "forwarded {{cause}}" },
          { expr: `sum(${q.rate("parley_typing_throttled_total")})`, legend: "throttled" },
          { expr: `sum(${q.rate("parley_typing_shed_total")})`, legend: "shed" },
        ],
        unit: "ops",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Event-loop delay",
        description: `p99 event-loop delay per pod over the pressure gate's last window. Above the dashed line (${TYPING_SHED_DELAY_SECONDS * 1000} ms, TYPING_SHED_LOOP_DELAY_MS) the pod sheds typing.`,
        queries: [{ expr: `max by (${POD_LABELS.join(", ")}) (${q.sel("parley_gateway_event_loop_delay_p99_seconds")})`, legend: POD_LEGEND }],
        unit: "s",
        min: 0,
        thresholdLine: TYPING_SHED_DELAY_SECONDS,
      }),
      { core: true },
    );

  d.row("Safety and moderation")
    .panel(
      timeseries({
        title: "Reports and resolutions",
        description: "Message reports filed (created) and resolved by action (dismiss, delete_message, ban_user), per hour: the moderation queue's inflow and outflow (docs/safety.md).",
        queries: [{ expr: `sum by (outcome) (increase(${q.sel("parley_gateway_reports_total")}[1h]))`, legend: "{{outcome}}" }],
        unit: "short",
        min: 0,
      }),
    )
    .panel(
      timeseries({
        title: "Bans, blocks and banned clients",
        description: "Bans put and lifted, blocks put and lifted, per hour; requests of banned users refused per second (handshakes AUTH_BANNED, HTTP 403) and their sockets closed.",
        queries: [
          { expr: `sum by (op) (increase(${q.sel("parley_gateway_bans_total")}[1h]))`, legend: "bans {{op}}" },
          { expr: `sum by (op) (increase(${q.sel("parley_gateway_blocks_total")}[1h]))`, legend: "blocks {{op}}" },
          { expr: q.sumRate(["where"], "parley_gateway_banned_refusals_total"), legend: "banned refused ({{where}})" },
          { expr: `sum(${q.rate("parley_gateway_banned_disconnects_total")})`, legend: "banned sockets closed" },
        ],
        unit: "short",
        min: 0,
      }),
    );

  return d.build();
}
