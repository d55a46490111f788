import { eachOf, startAtZero } from "@parley/runtime";
import { Counter, type Registry } from "prom-client";

export type SafetyMetrics = ReturnType<typeof createSafetyMetrics>;

/** Safety and moderation (protocol.md v1.1): what an operator watches for abuse waves and moderation load. */
export function createSafetyMetrics(registry: Registry) {
  return {
    blocks: startAtZero(
      new Counter({
        name: "parley_gateway_blocks_total",
        help: "Blocks changed by users, by op (block, unblock); repeats that changed nothing are not counted.",
        labelNames: ["op"] as const,
        registers: [registry],
      }),
      eachOf("op", ["block", "unblock"] as const),
    ),
    reports: startAtZero(
      new Counter({
        name: "parley_gateway_reports_total",
        help: "Message reports filed (created), and resolved by action (dismiss, delete_message, ban_user).",
        labelNames: ["outcome"] as const,
        registers: [registry],
      }),
      eachOf("outcome", ["created", "dismiss", "delete_message", "ban_user"] as const),
    ),
    bans: startAtZero(
      new Counter({
        name: "parley_gateway_bans_total",
        help: "Bans put (ban) and lifted (unban) by admins through this pod.",
        labelNames: ["op"] as const,
        registers: [registry],
      }),
      eachOf("op", ["ban", "unban"] as const),
    ),
    bannedRefusals: startAtZero(
      new Counter({
        name: "parley_gateway_banned_refusals_total",
        help: "Requests of banned users refused, by where (handshake: AUTH_BANNED; http: 403).",
        labelNames: ["where"] as const,
        registers: [registry],
      }),
      eachOf("where", ["handshake", "http"] as const),
    ),
    bannedDisconnects: new Counter({
      name: "parley_gateway_banned_disconnects_total",
      help: "Sockets of banned users closed by this pod.",
      registers: [registry],
    }),
  };
}
