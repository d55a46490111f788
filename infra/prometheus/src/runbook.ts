/**
 * Where the runbooks are served: every alert's `runbook_url` is this page with the anchor
 * `runbook-<alertname in lower case>` (docs/operations.md, section "Runbooks"). Point it at your
 * own copy of the docs and run `npm run generate -w @parley/prometheus-rules`.
 */
export const RUNBOOK_BASE_URL = "https://github.com/example/parley/blob/main/docs/operations.md";

export function runbookAnchor(alertName: string): string {
  return `runbook-${alertName.toLowerCase()}`;
}

export function runbookUrl(alertName: string): string {
  return `${RUNBOOK_BASE_URL}#${runbookAnchor(alertName)}`;
}
