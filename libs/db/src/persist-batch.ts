import type { PersistItem, PersistOutcome } from "@parley/bus";
import type { Sql } from "./client.js";
import { toMessage, type MessageRow } from "./message-row.js";

// The wire shapes of the persist path are defined once, in @parley/bus; re-exported for the
// callers of persistBatch.
export type { PersistItem, PersistOutcome };

/**
 * Thrown when a concurrent transaction stored one of our (sender, clientMessageId) keys
 * between our look-up and our insert; the caller retries the whole batch, which then sees it.
 */
export class ConcurrentDuplicateError extends Error {
  override readonly name = "ConcurrentDuplicateError";
  /** Classed as transient (isTransientDbError): trying again succeeds. */
  readonly code = "PARLEY_CONCURRENT_DUPLICATE";
}

/**
 * Stores a batch of messages and answers each item, in order, in one round trip: the work is
 * the SQL function `parley_persist_batch` (migrations/0001_persist_batch_function.sql), whose
 * header states its contract (why one function, looking existing rows up by key:
 * docs/decisions/0002-commit-function-looks-up-by-key.md).
 *
 * Invariants (docs/architecture.md, "What the design keeps"):
 * - stored once: existing (sender, clientMessageId) rows are read inside the transaction after
 *   the conversation rows are locked, so a retry is answered with the stored message
 *   (`duplicate: true`) or CONFLICT when its content differs;
 * - gap-free seq: `last_seq` is raised by exactly the number of new rows, in the transaction
 *   that inserts them.
 *
 * It never waits for a conversation row another transaction holds (migration 0016): such an
 * item is answered `undefined`, nothing of it stored, to be tried again later, after the
 * items before it of the same conversation (the persister's commit lanes park the
 * conversation: services/persister/src/commit/commit-lane.ts).
 */
export async function commitBatch(sql: Sql, items: readonly PersistItem[]): Promise<(PersistOutcome | undefined)[]> {
  if (items.length === 0) return [];
  const payload = JSON.stringify(items);
  for (let attempt = 1; ; attempt++) {
    try {
      const rows = await sql<PersistRow[]>`select * from parley_persist_batch(${payload}::jsonb)`;
      return rows.map(toOutcome);
    } catch (err) {
      if ((err as { code?: unknown }).code !== CONCURRENT_DUPLICATE) throw err;
      // Someone committed one of our keys after we looked; run again and it is a duplicate.
      if (attempt >= 3) throw new ConcurrentDuplicateError("a concurrent transaction stored the same clientMessageId");
    }
  }
}

/**
 * commitBatch for callers that want every item answered: the items of held conversations are
 * tried again, in order, every `retryMs` until their rows are free.
 */
export async function persistBatch(sql: Sql, items: readonly PersistItem[], retryMs = 20): Promise<PersistOutcome[]> {
  const outcomes = await commitBatch(sql, items);
  let waiting = outcomes.flatMap((o, i) => (o === undefined ? [i] : []));
  while (waiting.length > 0) {
    await new Promise((r) => setTimeout(r, retryMs));
    const again = await commitBatch(
      sql,
      waiting.map((i) => items[i]!),
    );
    again.forEach((o, k) => (outcomes[waiting[k]!] = o));
    waiting = waiting.filter((_, k) => again[k] === undefined);
  }
  return outcomes as PersistOutcome[];
}

/** SQLSTATE raised by parley_persist_batch when a concurrent batch took one of its keys. */
const CONCURRENT_DUPLICATE = "PY001";

interface PersistRow extends MessageRow {
  ord: number;
  status: "busy" | "new" | "duplicate" | "conflict" | "forbidden" | "bad_reply";
}

function toOutcome(row: PersistRow): PersistOutcome | undefined {
  switch (row.status) {
    case "busy":
      return undefined;
    case "new":
    case "duplicate":
      return { ok: true, message: toMessage(row), duplicate: row.status === "duplicate" };
    case "conflict":
      return { ok: false, error: { code: "CONFLICT", message: "clientMessageId was already used for a different message" } };
    case "forbidden":
      return { ok: false, error: { code: "FORBIDDEN", message: "not a member of this conversation" } };
    case "bad_reply":
      return { ok: false, error: { code: "VALIDATION", message: "replyToId: no such message in this conversation" } };
  }
}
