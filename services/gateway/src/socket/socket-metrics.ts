import type { GatewayMetrics } from "../metrics.js";

/**
 * Socket.IO's server-side disconnect reasons (socket.io's `DisconnectReason`): a fixed set, so
 * the label stays bounded; anything a later version adds is counted as `other` until listed.
 */
const DISCONNECT_REASONS = new Set([
  "transport error",
  "transport close",
  "forced close",
  "ping timeout",
  "parse error",
  "server shutting down",
  "forced server close",
  "client namespace disconnect",
  "server namespace disconnect",
]);

export function countDisconnect(metrics: GatewayMetrics, reason: string): void {
  metrics.disconnects.inc({ reason: DISCONNECT_REASONS.has(reason) ? reason : "other" });
}

/** An answered client event; `sync` is also counted on its own (the catch-up path operators watch). */
export function countEvent(metrics: GatewayMetrics, event: string, outcome: string): void {
  metrics.events.inc({ event, outcome });
  if (event === "sync") metrics.syncs.inc({ outcome });
}
