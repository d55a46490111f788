import { randomUUID } from "node:crypto";
import { webhookEvent } from "@parley/bus";
import type { SafetyEvents } from "../safety/safety-events.js";
import type { EventPublisher } from "./event-publisher.js";

/**
 * The safety services' events (report.created, user.banned) also queued for the events
 * webhook. The data names who and what, without text a user wrote (no report note, no
 * message body): a receiver reads those through the admin routes if it needs them.
 */
export function safetyEventsToWebhook(inner: SafetyEvents, events: EventPublisher): SafetyEvents {
  return {
    reportCreated(report) {
      inner.reportCreated(report);
      events.publish(
        webhookEvent("report.created", report.id, {
          reportId: report.id,
          messageId: report.messageId,
          conversationId: report.conversationId,
          reporterId: report.reporterId,
          reportedUserId: report.reportedUserId,
          reason: report.reason,
        }),
      );
    },
    userBanned(ban) {
      inner.userBanned(ban);
      // Each ban put is an event of its own (a ban put again, e.g. with a new end, is news).
      events.publish(webhookEvent("user.banned", randomUUID(), { userId: ban.userId, until: ban.until ?? null, by: ban.by }));
    },
  };
}
