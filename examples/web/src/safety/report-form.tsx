import type { ReportReason } from "@parley/client";
import { LIMITS, ReportReasonSchema } from "@parley/protocol";
import { useParleyClient } from "@parley/react";
import { useState, type FormEvent } from "react";
import { useAction } from "./use-action.js";

/** The contract's reasons, from its schema: a new reason shows up here without an edit. */
const REASONS: readonly ReportReason[] = ReportReasonSchema.options;

/**
 * Reports one message: a reason and an optional note for the moderators. Answers with the
 * report's id (`onDone`); reporting the same message again answers the first report's id.
 */
export function ReportForm({ messageId, onDone, onCancel }: { messageId: string; onDone: (reportId: string) => void; onCancel: () => void }) {
  const client = useParleyClient();
  const action = useAction();
  const [reason, setReason] = useState<ReportReason>("spam");
  const [note, setNote] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = note.trim();
    let reportId = "";
    void action
      .run(async () => {
        reportId = await client.report(messageId, reason, text || undefined);
      })
      .then((ok) => ok && onDone(reportId));
  };
  return (
    <form className="report-form" data-testid="report-form" onSubmit={submit}>
      <label>
        Reason
        <select name="reason" value={reason} onChange={(e) => setReason(e.target.value as ReportReason)}>
          {REASONS.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
      </label>
      <label>
        Note (optional)
        <textarea name="note" maxLength={LIMITS.reportNoteChars} rows={2} value={note} onChange={(e) => setNote(e.target.value)} />
      </label>
      {action.error ? <span className="error">could not report: {action.error}</span> : null}
      <span className="actions">
        <button type="submit" disabled={action.busy}>
          Report
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </span>
    </form>
  );
}
