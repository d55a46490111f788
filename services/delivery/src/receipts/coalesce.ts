import type { DeliveredWatermark } from "@parley/db";

/**
 * One watermark per (conversation, user): the highest seq. Everything below a watermark is
 * covered by it, so the others carry no information; and UPDATE … FROM needs one source row
 * per target row.
 */
export function coalesceWatermarks(watermarks: Iterable<DeliveredWatermark>): DeliveredWatermark[] {
  const highest = new Map<string, DeliveredWatermark>();
  for (const w of watermarks) {
    // A user id may hold any character but a conversation id is a UUID: the key cannot collide.
    const key = `${w.conversationId}/${w.userId}`;
    const seen = highest.get(key);
    if (!seen || w.seq > seen.seq) highest.set(key, w);
  }
  return [...highest.values()];
}
