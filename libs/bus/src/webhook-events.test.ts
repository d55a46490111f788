import { describe, expect, it } from "vitest";
import { UuidSchema } from "@parley/protocol";
import { webhookEvent, webhookEventId } from "./webhook-events.js";

describe("webhook event ids", () => {
  it("are UUIDs made from what the event is about: the same event, the same id; another, another", () => {
    const id = webhookEventId("message.created", "0190a5c2-0000-7000-8000-000000000001");
    expect(UuidSchema.safeParse(id).success).toBe(true);
    expect(webhookEventId("message.created", "0190a5c2-0000-7000-8000-000000000001")).toBe(id);
    expect(webhookEventId("message.updated", "0190a5c2-0000-7000-8000-000000000001")).not.toBe(id);
    expect(webhookEventId("message.created", "0190a5c2-0000-7000-8000-000000000002")).not.toBe(id);
  });

  it("carry type, time and data as queued", () => {
    const at = new Date("2026-12-07T06:00:00.000Z");
    expect(webhookEvent("conversation.created", "c1", { conversationId: "c1" }, at)).toEqual({
      id: webhookEventId("conversation.created", "c1"),
      type: "conversation.created",
      at: "2026-12-07T06:00:00.000Z",
      data: { conversationId: "c1" },
    });
  });
});
