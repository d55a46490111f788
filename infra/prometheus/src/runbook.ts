/**
 * Every alert's `runbook_url` is `<base>/<alert name>.md`: one page per alert in
 * docs/runbooks/. The default base is that folder's path in the repository, which needs no
 * server and is never wrong; point it at where your copy of the docs is served with
 * `npm run generate -w @parley/prometheus-rules -- --runbook-base-url=<url>` (or the
 * RUNBOOK_BASE_URL environment variable) before deploying the generated rules.
 */
export const DEFAULT_RUNBOOK_BASE_URL = "docs/runbooks";

/** An absolute URL, or a path inside the repository (the default base). */
export function isRunbookBase(base: string): boolean {
  return URL.canParse(base) || /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(base);
}

export function runbookUrl(alertName: string, base: string = DEFAULT_RUNBOOK_BASE_URL): string {
  return `${base.replace(/\/+$/, "")}/${alertName}.md`;
}
