import type { ChatMessage, MemberReceipts } from "@parley/client";

/**
 * What an own message's ticks show:
 * - `pending`: not stored yet (offline, or waiting for the ack): a clock;
 * - `failed`: refused for good (the reason is shown);
 * - `sent`: stored, no other member's device has it yet: one tick;
 * - `delivered`: every other member's device has it: two ticks;
 * - `read`: every other member has read it: two blue ticks.
 * "Every other member" as far as receipts are known; with none known, `sent`.
 */
export type Ticks = "pending" | "failed" | "sent" | "delivered" | "read";

export function ticksOf(message: Pick<ChatMessage, "status" | "seq" | "senderId">, receipts: readonly MemberReceipts[]): Ticks {
  if (message.status !== "sent") return message.status;
  const seq = message.seq ?? Number.POSITIVE_INFINITY;
  const others = receipts.filter((r) => r.userId !== message.senderId);
  if (others.length === 0) return "sent";
  if (others.every((r) => r.readSeq >= seq)) return "read";
  if (others.every((r) => Math.max(r.deliveredSeq, r.readSeq) >= seq)) return "delivered";
  return "sent";
}

export const TICK_GLYPHS: Record<Ticks, string> = {
  pending: "◷",
  failed: "⚠",
  sent: "✓",
  delivered: "✓✓",
  read: "✓✓",
};
