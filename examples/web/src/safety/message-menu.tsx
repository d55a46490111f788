import type { ChatMessage } from "@parley/client";
import { useState } from "react";
import { BlockButton } from "./block-button.js";
import { ReportForm } from "./report-form.js";

/**
 * The "⋯" menu of another user's stored message: block or unblock its sender, and report it.
 * Closed by default, so a long conversation renders one small button per message.
 */
export function MessageMenu({ message, senderBlocked }: { message: ChatMessage & { id: string }; senderBlocked: boolean }) {
  const [open, setOpen] = useState(false);
  const [reporting, setReporting] = useState(false);
  const [reportId, setReportId] = useState<string>();
  return (
    <span className="message-menu">
      <button type="button" className="menu-toggle" data-testid="message-menu-toggle" aria-expanded={open} title="Block, report" onClick={() => setOpen(!open)}>
        ⋯
      </button>
      {open ? (
        <span className="menu" data-testid="message-menu">
          <BlockButton userId={message.senderId} blocked={senderBlocked} label={message.senderName} />
          {reportId ? (
            <span className="done" data-testid="reported" data-report-id={reportId}>
              Reported
            </span>
          ) : reporting ? (
            <ReportForm messageId={message.id} onDone={setReportId} onCancel={() => setReporting(false)} />
          ) : (
            <button type="button" data-testid="report" onClick={() => setReporting(true)}>
              Report…
            </button>
          )}
        </span>
      ) : null}
    </span>
  );
}
