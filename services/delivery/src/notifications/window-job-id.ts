import { createHash } from "node:crypto";

/**
 * The push job of one (conversation, recipient, window). Deterministic, so re-arming a window
 * whose job still waits is a no-op; new per window, so a window opened while the previous one's
 * job is still running (or kept as failed) is never dropped by BullMQ as a duplicate id. User
 * ids may hold any character and BullMQ ids may not hold ':', hence the hash.
 */
export function windowJobId(conversationId: string, recipientId: string, window: number): string {
  const pair = createHash("sha256").update(`${conversationId}\n${recipientId}`).digest("hex").slice(0, 32);
  return `push-${pair}-${window}`;
}
