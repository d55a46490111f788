import { searchMessages, type Database } from "@parley/db";
import { ParleyError, type Message } from "@parley/protocol";
import type { DbGuard } from "../guard-db.js";
import type { GatewayMetrics } from "../metrics.js";

export interface SearchServiceDeps {
  database: Database;
  /** Answers FORBIDDEN when the caller is not a member (the same check every read makes). */
  requireMember: (conversationId: string, userId: string) => Promise<unknown>;
  metrics: GatewayMetrics;
  dbGuard: DbGuard;
  /** SEARCH_MAX_ROWS: messages one search may read. */
  maxRows: number;
}

/** `GET /v1/search`: full-text search over the caller's conversations (libs/db search.ts). */
export class SearchService {
  constructor(private readonly deps: SearchServiceDeps) {}

  async search(userId: string, input: { q: string; conversationId?: string | undefined; limit?: number | undefined }): Promise<{ messages: Message[] }> {
    const started = performance.now();
    let outcome = "ok";
    try {
      if (input.conversationId) await this.deps.requireMember(input.conversationId, userId);
      const messages = await this.deps.dbGuard.run(() => searchMessages(this.deps.database.sql, { userId, ...input, maxRows: this.deps.maxRows }));
      return { messages };
    } catch (err) {
      outcome = err instanceof ParleyError ? err.code : "INTERNAL";
      throw err;
    } finally {
      this.deps.metrics.searchSeconds.observe({ outcome }, (performance.now() - started) / 1000);
    }
  }
}
