import type { Report, ReportAction } from "@parley/client";
import { useParleyClient } from "@parley/react";
import { useAction } from "../safety/use-action.js";
import { timeOf } from "../time-of.js";

/** The three ways a moderator closes a report, as the contract names them. */
const ACTIONS: readonly { action: ReportAction; label: string }[] = [
  { action: "dismiss", label: "Dismiss" },
  { action: "delete_message", label: "Delete message" },
  { action: "ban_user", label: "Ban user" },
];

/**
 * One report: who reported whom and why, the message as it is now (a tombstone once
 * deleted), and the resolve buttons while it is open. `onResolved` gets the server's answer.
 */
export function ReportRow({ report, onResolved }: { report: Report; onResolved: (report: Report) => void }) {
  const client = useParleyClient();
  const resolve = useAction();
  const body = report.message ? (report.message.body ?? "message deleted") : "message gone";
  return (
    <li className="report" data-testid="report-row" data-report-id={report.id} data-status={report.status} data-reported-user={report.reportedUserId}>
      <span className="who">
        <strong>{report.reportedUserId}</strong> reported by {report.reporterId} · {timeOf(report.createdAt)}
      </span>
      <span className="reason" data-testid="report-reason">
        {report.reason}
        {report.note ? `: ${report.note}` : ""}
      </span>
      <blockquote className="reported-body" data-testid="reported-body">
        {body}
      </blockquote>
      {report.status === "open" ? (
        <span className="actions">
          {ACTIONS.map(({ action, label }) => (
            <button
              key={action}
              type="button"
              data-testid={`resolve-${action}`}
              disabled={resolve.busy}
              onClick={() =>
                void resolve.run(async () => {
                  onResolved(await client.admin.resolve(report.id, action));
                })
              }
            >
              {label}
            </button>
          ))}
        </span>
      ) : (
        <span className="resolution" data-testid="resolution">
          resolved: {report.action ?? "?"}
          {report.resolvedBy ? ` by ${report.resolvedBy}` : ""}
        </span>
      )}
      {resolve.error ? <span className="error">could not resolve: {resolve.error}</span> : null}
    </li>
  );
}
