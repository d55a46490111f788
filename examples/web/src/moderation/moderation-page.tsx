import type { Report } from "@parley/client";
import { useParleyClient } from "@parley/react";
import { useEffect, useState } from "react";
import { useAction } from "../safety/use-action.js";
import { BanForm } from "./ban-form.js";
import { ReportRow } from "./report-row.js";

/** Reports per page: a moderator reads a screenful, then asks for more. */
const PAGE_SIZE = 10;

/**
 * The moderation page (admins only: the gateway answers FORBIDDEN to anyone else): the open
 * reports, oldest first, a page at a time, each resolved in place, and a form to ban a user.
 * A resolved report stays on screen with its outcome until the page is reloaded.
 */
export function ModerationPage() {
  const client = useParleyClient();
  const load = useAction();
  const [reports, setReports] = useState<readonly Report[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);

  const fetchPage = (after: string | null) =>
    load.run(async () => {
      const page = await client.admin.reports({ status: "open", limit: PAGE_SIZE, ...(after ? { cursor: after } : {}) });
      // A report resolved meanwhile may come again on the next page: keep the first copy.
      setReports((current) => [...current, ...page.reports.filter((r) => !current.some((c) => c.id === r.id))]);
      setCursor(page.nextCursor);
      setLoaded(true);
    });

  useEffect(() => {
    void fetchPage(null);
    // Once per page open; later pages are asked for with the button.
  }, [client]);

  const replace = (resolved: Report) => setReports((current) => current.map((r) => (r.id === resolved.id ? resolved : r)));
  return (
    <section className="moderation" data-testid="moderation">
      <h2>Moderation</h2>
      <h3>Ban a user</h3>
      <BanForm />
      <h3>Open reports</h3>
      {load.error ? (
        <p className="error" data-testid="moderation-error">
          could not load reports: {load.error}
        </p>
      ) : null}
      {loaded && reports.length === 0 ? (
        <p className="empty" data-testid="no-reports">
          No open reports.
        </p>
      ) : null}
      <ul className="reports" data-testid="reports">
        {reports.map((report) => (
          <ReportRow key={report.id} report={report} onResolved={replace} />
        ))}
      </ul>
      {cursor ? (
        <button type="button" data-testid="more-reports" disabled={load.busy} onClick={() => void fetchPage(cursor)}>
          More reports
        </button>
      ) : null}
    </section>
  );
}
