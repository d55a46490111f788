import { muteConversation, unmuteConversation, type Database } from "@parley/db";
import { ParleyError } from "@parley/protocol";
import type { DbGuard } from "../guard-db.js";

export interface MuteServiceDeps {
  database: Database;
  dbGuard: DbGuard;
}

const FORBIDDEN = () => new ParleyError("FORBIDDEN", "not a member of this conversation");

/**
 * `conversation:mute` / `unmute`: a column of the member's row (migrations/0014), read by the
 * push path in the same statement that reads the members (services/delivery); unread counts
 * still count. Muting is the member's own business: it is not audited or announced.
 */
export class MuteService {
  constructor(private readonly deps: MuteServiceDeps) {}

  async mute(userId: string, conversationId: string, until: string | undefined): Promise<Record<string, never>> {
    const ok = await this.deps.dbGuard.run(() => muteConversation(this.deps.database.sql, conversationId, userId, until === undefined ? null : new Date(until)));
    if (!ok) throw FORBIDDEN();
    return {};
  }

  async unmute(userId: string, conversationId: string): Promise<Record<string, never>> {
    const ok = await this.deps.dbGuard.run(() => unmuteConversation(this.deps.database.sql, conversationId, userId));
    if (!ok) throw FORBIDDEN();
    return {};
  }
}
