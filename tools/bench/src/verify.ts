// The durable path's promises, checked in Postgres after every durable run:
// every acked message is stored exactly once with the seq it was acked with, no
// (sender_id, client_message_id) appears twice, and every conversation's seqs are exactly
// 1..last_seq with conversations.last_seq agreeing.
import postgres from "postgres";
import type { AckedMessage } from "./loadgen-protocol.js";

export interface Verification {
  ok: boolean;
  ackedChecked: number;
  missing: number;
  wrongSeq: number;
  duplicateAckIds: number;
  duplicateClientIds: number;
  conversationsChecked: number;
  badConversations: number;
  totalRows: number;
  problems: string[];
  ms: number;
}

export async function verifyDatabase(databaseUrl: string, acked: readonly AckedMessage[]): Promise<Verification> {
  const started = Date.now();
  const sql = postgres(databaseUrl, { max: 2, onnotice: () => {} });
  const problems: string[] = [];
  try {
    const ackIds = new Map<string, AckedMessage>();
    let duplicateAckIds = 0;
    for (const message of acked) {
      if (ackIds.has(message.id)) duplicateAckIds++;
      ackIds.set(message.id, message);
    }
    if (duplicateAckIds) problems.push(`${duplicateAckIds} message ids were acked for two different sends`);

    let missing = 0;
    let wrongSeq = 0;
    const ids = [...ackIds.keys()];
    for (let from = 0; from < ids.length; from += 20_000) {
      const chunk = ids.slice(from, from + 20_000);
      // Ids are unique (message_ids since 0013, messages_id_uq before it), so "present" means
      // "present exactly once"; count anyway. By id alone: this reads every partition, once per run.
      const rows = await sql<{ id: string; conversation_id: string; seq: string; n: string }[]>`
        select id::text, conversation_id::text, seq::text, count(*) over (partition by id)::text as n
        from messages where id = any(${chunk}::uuid[])`;
      const found = new Map(rows.map((row) => [row.id, row]));
      for (const id of chunk) {
        const row = found.get(id);
        const want = ackIds.get(id)!;
        if (!row) missing++;
        else if (row.n !== "1" || row.conversation_id !== want.conversationId || Number(row.seq) !== want.seq) wrongSeq++;
      }
    }
    if (missing) problems.push(`${missing} acked messages are not in Postgres`);
    if (wrongSeq) problems.push(`${wrongSeq} acked messages are stored with another conversation/seq than their ack said`);

    const [dupes] = await sql<{ n: string }[]>`
      select count(*)::text as n from (
        select 1 from messages group by sender_id, client_message_id having count(*) > 1) d`;
    const duplicateClientIds = Number(dupes?.n ?? 0);
    if (duplicateClientIds) problems.push(`${duplicateClientIds} (sender_id, client_message_id) pairs stored more than once`);

    // Gap-free: n rows whose seqs are distinct, start at 1 and end at n, and last_seq = n.
    const conversations = await sql<{ id: string; last_seq: string; n: string; lo: string | null; hi: string | null; distinct_seqs: string }[]>`
      select c.id::text, c.last_seq::text, count(m.seq)::text as n, min(m.seq)::text as lo, max(m.seq)::text as hi,
             count(distinct m.seq)::text as distinct_seqs
      from conversations c left join messages m on m.conversation_id = c.id
      group by c.id, c.last_seq`;
    let badConversations = 0;
    let totalRows = 0;
    for (const c of conversations) {
      const n = Number(c.n);
      totalRows += n;
      const good = n === 0 ? c.last_seq === "0" : c.lo === "1" && Number(c.hi) === n && Number(c.distinct_seqs) === n && Number(c.last_seq) === n;
      if (!good) {
        badConversations++;
        if (badConversations <= 5) problems.push(`conversation ${c.id}: ${n} rows, seqs ${c.lo}..${c.hi} (${c.distinct_seqs} distinct), last_seq ${c.last_seq}`);
      }
    }
    if (badConversations > 5) problems.push(`… ${badConversations} conversations with gaps or a wrong last_seq in all`);
    return {
      ok: problems.length === 0,
      ackedChecked: ackIds.size,
      missing,
      wrongSeq,
      duplicateAckIds,
      duplicateClientIds,
      conversationsChecked: conversations.length,
      badConversations,
      totalRows,
      problems,
      ms: Date.now() - started,
    };
  } finally {
    await sql.end({ timeout: 5 });
  }
}
