import type { Logger } from "@parley/runtime";
import type { Report } from "@parley/protocol";

/** A ban as it was put (`until` absent: without end). */
export interface BanPut {
  userId: string;
  until?: string | undefined;
  reason?: string | undefined;
  by: string;
}

/**
 * The safety events other parts of the cluster may act on (protocol.md v1.1's events webhook
 * types `report.created` and `user.banned`). The report and ban services call these once per
 * report filed and per ban put, after the commit; this is the one place to hand them on.
 */
export interface SafetyEvents {
  reportCreated(report: Report): void;
  userBanned(ban: BanPut): void;
}

/** The default: a debug line each, until something subscribes. */
export function loggedSafetyEvents(logger: Logger): SafetyEvents {
  return {
    reportCreated: (report) => logger.debug({ reportId: report.id, reason: report.reason }, "report.created"),
    userBanned: (ban) => logger.debug({ userId: ban.userId, until: ban.until }, "user.banned"),
  };
}
