import { cleanSearchPendingList, type Sql } from "@parley/db";
import type { Logger } from "@parley/runtime";

export interface SearchIndexCleanerOptions {
  sql: Sql;
  /** How often the pending list is merged; 0: never (inserts merge it when it is full). */
  intervalMs: number;
  logger: Logger;
}

/**
 * Merges the search index's pending list in the background (libs/db `cleanSearchPendingList`),
 * so that no commit has to: the insert that finds the list full merges it inside its own
 * commit, and every send waiting behind that commit stalls with it (why and the measurements:
 * docs/decisions/0004-search-pending-list-cleaner.md). One merge at a time; a database role
 * that does not own the index gets one warning and the cleaner stops (inserts then merge the
 * list as before).
 */
export class SearchIndexCleaner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private disabled = false;

  constructor(private readonly opts: SearchIndexCleanerOptions) {}

  start(): void {
    if (this.opts.intervalMs <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.clean(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One merge (skipped while one runs); failures are logged, never thrown. */
  clean(): Promise<void> {
    if (this.disabled) return Promise.resolve();
    this.running ??= (async () => {
      try {
        await cleanSearchPendingList(this.opts.sql);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === "42501") {
          this.disabled = true;
          clearInterval(this.timer);
          this.opts.logger.warn({ err: String(err) }, "the search index's pending list cannot be merged by this role (it must own the index); inserts will merge it");
        } else {
          // Postgres away: the next tick tries again (dependency health reports the outage).
          this.opts.logger.debug({ err: String(err) }, "merging the search index's pending list failed");
        }
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  /** Stops the timer; resolves once a merge in progress has finished. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
