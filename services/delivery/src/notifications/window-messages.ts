import type { MessageKind } from "@parley/protocol";
import { toIso, type Sql } from "@parley/db";

/** A collapse window as it is when its notification leaves: only messages still there and unread. */
export interface WindowMessages {
  /** Messages of the window neither deleted nor read by the recipient. */
  count: number;
  firstSeq: number;
  /** The newest of them, with its text as it is now (edited or not), cut to the preview length. */
  latest: {
    messageId: string;
    seq: number;
    senderId: string;
    senderName: string;
    kind: MessageKind;
    preview: string;
    createdAt: string;
  };
}

/**
 * Reads a window's messages from Postgres when the notification is about to leave (each
 * attempt), so a message deleted since it was sent is neither counted nor shown, and an edited
 * one is shown with its current text. Undefined when none is left.
 * One probe of the primary key (conversation_id, seq) per seq of the window; the count and the
 * first seq are window aggregates over the same rows, taken before the limit.
 * $1 conversation, $2 the window's seqs, $3 the recipient's read watermark, $4 preview characters
 * (left() counts characters, so an emoji is never cut in half).
 */
export async function readWindowMessages(
  sql: Sql,
  q: { conversationId: string; seqs: readonly number[]; readSeq: number; previewChars: number },
): Promise<WindowMessages | undefined> {
  const [row] = await sql<
    { id: string; seq: number; sender_id: string; sender_name: string | null; kind: MessageKind; preview: string; created_at: Date | string; count: number; first_seq: number }[]
  >`
    select m.id, m.seq, m.sender_id, u.display_name as sender_name, m.kind,
      left(coalesce(m.body, ''), ${q.previewChars}::int) as preview, m.created_at,
      (count(*) over ())::int as count, min(m.seq) over () as first_seq
    from messages m left join users u on u.id = m.sender_id
    where m.conversation_id = ${q.conversationId} and m.seq = any(${q.seqs as number[]}::bigint[])
      and m.seq > ${q.readSeq} and m.deleted_at is null
    order by m.seq desc
    limit 1`;
  if (!row) return undefined;
  return {
    count: row.count,
    firstSeq: row.first_seq,
    latest: {
      messageId: row.id,
      seq: row.seq,
      senderId: row.sender_id,
      senderName: row.sender_name ?? row.sender_id,
      kind: row.kind,
      preview: row.preview,
      createdAt: toIso(row.created_at),
    },
  };
}
