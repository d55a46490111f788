import type { Attachment, ErrorBody, Message, MessageKind } from "@parley/protocol";
import { toIso } from "./timestamps.js";
import type { Sql } from "./client.js";
import { messageColumns, toMessage, type MessageRow } from "./message-row.js";

/** One message to store, as the gateway validated it. `id` is made by the gateway (UUIDv7). */
export interface PersistItem {
  id: string;
  conversationId: string;
  senderId: string;
  senderName: string;
  clientMessageId: string;
  kind: MessageKind;
  body: string;
  replyToId?: string | undefined;
  attachments?: Attachment[] | undefined;
}

export type PersistOutcome =
  | { ok: true; message: Message; duplicate: boolean }
  | { ok: false; error: ErrorBody };

/**
 * Thrown when a concurrent transaction stored one of our (sender, clientMessageId) keys
 * between our look-up and our insert; the caller retries the whole batch, which then sees it.
 */
export class ConcurrentDuplicateError extends Error {
  override readonly name = "ConcurrentDuplicateError";
  /** Classed as transient (isTransientDbError): trying again succeeds. */
  readonly code = "PARLEY_CONCURRENT_DUPLICATE";
}

const sameContent = (stored: Message, item: PersistItem) =>
  stored.conversationId === item.conversationId && stored.body === item.body && stored.kind === item.kind;

const keyOf = (senderId: string, clientMessageId: string) => `${senderId}\u0000${clientMessageId}`;

/**
 * Stores a batch of messages in one transaction and answers each item, in order.
 *
 * Invariants (docs/architecture.md):
 * - stored once: existing (sender, clientMessageId) rows are read inside the transaction after
 *   the conversation rows are locked, so a retry is answered with the stored message
 *   (`duplicate: true`) or CONFLICT when its content differs;
 * - gap-free seq: `last_seq` is raised by exactly the number of new rows, in the transaction
 *   that inserts them. Conversation rows are locked in id order so two batches never deadlock.
 */
export async function persistBatch(sql: Sql, items: readonly PersistItem[]): Promise<PersistOutcome[]> {
  if (items.length === 0) return [];
  for (let attempt = 1; ; attempt++) {
    try {
      return await sql.begin((tx) => persistInTransaction(tx as unknown as Sql, items));
    } catch (err) {
      if (err instanceof ConcurrentDuplicateError && attempt < 3) continue;
      throw err;
    }
  }
}

async function persistInTransaction(tx: Sql, items: readonly PersistItem[]): Promise<PersistOutcome[]> {
  const conversationIds = [...new Set(items.map((i) => i.conversationId))].sort();
  // KEYS: the batch's conversation ids. Locks them in a fixed order (deadlock-free) and
  // proves they exist.
  const locked = await tx<{ id: string }[]>`
    select id from conversations where id = any(${conversationIds}::uuid[]) order by id for update`;
  const existingConversations = new Set(locked.map((r) => r.id));

  const senders = items.map((i) => i.senderId);
  const clientIds = items.map((i) => i.clientMessageId);
  const storedRows = await tx<MessageRow[]>`
    select ${messageColumns(tx)}
    from messages m
    join unnest(${senders}::text[], ${clientIds}::uuid[]) k(sender_id, client_message_id)
      on m.sender_id = k.sender_id and m.client_message_id = k.client_message_id
    left join users u on u.id = m.sender_id`;
  const stored = new Map<string, Message>();
  for (const row of storedRows) stored.set(keyOf(row.sender_id, row.client_message_id), toMessage(row));

  const replyIds = [...new Set(items.flatMap((i) => (i.replyToId ? [i.replyToId] : [])))];
  const replyConversation = new Map<string, string>();
  if (replyIds.length > 0) {
    const rows = await tx<{ id: string; conversation_id: string }[]>`
      select id, conversation_id from messages where id = any(${replyIds}::uuid[])`;
    for (const r of rows) replyConversation.set(r.id, r.conversation_id);
  }

  // Decide every item before touching a row: errors take no seq.
  type Plan = { kind: "new"; item: PersistItem } | { kind: "same"; key: string; item: PersistItem } | PersistOutcome;
  const fresh = new Map<string, PersistItem>();
  const newPerConversation = new Map<string, number>();
  const plans: Plan[] = items.map((item) => {
    const key = keyOf(item.senderId, item.clientMessageId);
    const earlier = stored.get(key);
    if (earlier) {
      return sameContent(earlier, item)
        ? { ok: true, message: earlier, duplicate: true }
        : conflict();
    }
    const sibling = fresh.get(key);
    if (sibling) {
      return sibling.conversationId === item.conversationId && sibling.body === item.body && sibling.kind === item.kind
        ? { kind: "same", key, item }
        : conflict();
    }
    if (!existingConversations.has(item.conversationId)) {
      return { ok: false, error: { code: "FORBIDDEN", message: "not a member of this conversation" } };
    }
    if (item.replyToId && replyConversation.get(item.replyToId) !== item.conversationId) {
      return { ok: false, error: { code: "VALIDATION", message: "replyToId: no such message in this conversation" } };
    }
    fresh.set(key, item);
    newPerConversation.set(item.conversationId, (newPerConversation.get(item.conversationId) ?? 0) + 1);
    return { kind: "new", item };
  });

  const inserted = new Map<string, Message>();
  if (fresh.size > 0) {
    const convIds = [...newPerConversation.keys()];
    const counts = convIds.map((id) => newPerConversation.get(id)!);
    const bumped = await tx<{ id: string; last_seq: number; now: Date | string }[]>`
      update conversations c
      set last_seq = c.last_seq + v.n, last_message_at = now()
      from unnest(${convIds}::uuid[], ${counts}::int[]) v(id, n)
      where c.id = v.id
      returning c.id, c.last_seq, now() as now`;
    const nextSeq = new Map<string, number>();
    for (const row of bumped) nextSeq.set(row.id, row.last_seq - newPerConversation.get(row.id)! + 1);
    const createdAt = bumped[0]!.now;

    const rows = [...fresh.values()].map((item) => {
      const seq = nextSeq.get(item.conversationId)!;
      nextSeq.set(item.conversationId, seq + 1);
      return { item, seq };
    });
    const insertedIds = await tx<{ id: string }[]>`
      insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body, reply_to_id, attachments, created_at)
      select id, conversation_id, seq, sender_id, client_message_id, kind, body, reply_to_id, attachments::jsonb, ${createdAt}
      from unnest(
        ${rows.map((r) => r.item.id)}::uuid[],
        ${rows.map((r) => r.item.conversationId)}::uuid[],
        ${rows.map((r) => r.seq)}::int8[],
        ${rows.map((r) => r.item.senderId)}::text[],
        ${rows.map((r) => r.item.clientMessageId)}::uuid[],
        ${rows.map((r) => r.item.kind)}::text[],
        ${rows.map((r) => r.item.body)}::text[],
        ${rows.map((r) => r.item.replyToId ?? null)}::uuid[],
        ${rows.map((r) => (r.item.attachments?.length ? JSON.stringify(r.item.attachments) : null))}::text[]
      ) as t(id, conversation_id, seq, sender_id, client_message_id, kind, body, reply_to_id, attachments)
      on conflict (sender_id, client_message_id) do nothing
      returning id`;
    if (insertedIds.length !== rows.length) {
      // Someone committed one of our keys after we looked: our seqs would now have a gap.
      throw new ConcurrentDuplicateError("a concurrent transaction stored the same clientMessageId");
    }
    for (const { item, seq } of rows) {
      inserted.set(keyOf(item.senderId, item.clientMessageId), {
        id: item.id,
        conversationId: item.conversationId,
        seq,
        senderId: item.senderId,
        senderName: item.senderName,
        clientMessageId: item.clientMessageId,
        kind: item.kind,
        body: item.body,
        createdAt: toIso(createdAt),
        ...(item.replyToId ? { replyToId: item.replyToId } : {}),
        ...(item.attachments?.length ? { attachments: item.attachments } : {}),
      });
    }
  }

  return plans.map((plan) => {
    if ("ok" in plan) return plan;
    const key = plan.kind === "new" ? keyOf(plan.item.senderId, plan.item.clientMessageId) : plan.key;
    return { ok: true, message: inserted.get(key)!, duplicate: plan.kind === "same" };
  });
}

function conflict(): PersistOutcome {
  return {
    ok: false,
    error: { code: "CONFLICT", message: "clientMessageId was already used for a different message" },
  };
}
