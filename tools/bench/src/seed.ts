// --seed-messages N: a production-shaped database instead of an empty one. N history
// messages in 1,000 conversations of one user (not touched by the load), gap-free seqs
// and matching last_seq, then ANALYZE, so the planner sees a table of realistic size.
import postgres from "postgres";

export async function seedHistory(databaseUrl: string, messages: number): Promise<number> {
  const started = Date.now();
  const conversations = 1000;
  const perConversation = Math.max(1, Math.floor(messages / conversations));
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`insert into users (id, display_name) values ('bench-history', 'History')`;
    await sql`
      insert into conversations (id, kind, title, created_by, last_seq)
      select gen_random_uuid(), 'group', 'history ' || g, 'bench-history', ${perConversation}
      from generate_series(1, ${conversations}::int) g`;
    await sql`insert into members (conversation_id, user_id, role) select id, 'bench-history', 'owner' from conversations`;
    await sql`
      insert into messages (id, conversation_id, seq, sender_id, client_message_id, kind, body)
      select gen_random_uuid(), c.id, s, 'bench-history', gen_random_uuid(), 'text', 'history message ' || s
      from conversations c, generate_series(1, ${perConversation}::int) s`;
    // Since 0013 every stored message also has its key and id rows (the commit function writes
    // them); --messages=unpartitioned has neither table.
    const [{ partitioned }] = await sql<[{ partitioned: boolean }]>`select to_regclass('message_keys') is not null as partitioned`;
    if (partitioned) {
      await sql`insert into message_keys (sender_id, client_message_id, conversation_id, seq) select sender_id, client_message_id, conversation_id, seq from messages`;
      await sql`insert into message_ids (id, conversation_id, seq) select id, conversation_id, seq from messages`;
    }
    await sql`analyze`;
  } finally {
    await sql.end({ timeout: 5 });
  }
  return Date.now() - started;
}
