import { LIMITS, type Message } from "@parley/protocol";
import type { Sql } from "./client.js";
import { messageColumns, toMessage, type MessageRow } from "./message-row.js";

export interface SearchQuery {
  userId: string;
  /** Web-search syntax: words (all must match), "quoted phrases", `or`, `-excluded`. */
  q: string;
  /** Only this conversation (the caller's membership is checked by the caller of this function). */
  conversationId?: string | undefined;
  limit?: number | undefined;
}

/**
 * How many of the newest matches are ranked. Chat search favours recent messages, and
 * ranking needs each candidate's tsvector (recomputed: the index is on an expression), so a
 * word found in thousands of the caller's messages costs a sort by time, not thousands of
 * tsvectors.
 */
export const SEARCH_RANKED_CANDIDATES = 500;

/**
 * The indexed expression, exactly as `messages_search_idx` has it (or the index is not used):
 * ICU lower-casing (every script, whatever the database's LC_CTYPE), then the 'simple'
 * configuration's words.
 */
const searchVector = (sql: Sql) => sql`to_tsvector('simple'::regconfig, lower(m.body COLLATE "und-x-icu"))`;

/**
 * Full-text search over the messages of the caller's conversations (`migrations/0004_search.sql`
 * has the index and why it is shaped so). Matches are live messages whose body holds every word
 * of the query (text search configuration 'simple': lower-cased words, no stemming, any
 * language, case-insensitive in every script); deleted messages are never found, edited ones by their current text.
 *
 * Order: the newest `SEARCH_RANKED_CANDIDATES` matches are ranked by `ts_rank` (how often and
 * how densely the words occur, normalised by the body's length), ties newest first.
 *
 * The membership filter is a semi-join on `members`, so the planner can walk the caller's
 * conversations and intersect each one's posting list with the words' inside the GIN index.
 */
export async function searchMessages(sql: Sql, input: SearchQuery): Promise<Message[]> {
  const limit = Math.min(input.limit ?? LIMITS.searchDefaultLimit, LIMITS.searchMaxLimit);
  const query = sql`websearch_to_tsquery('simple'::regconfig, lower(${input.q}::text COLLATE "und-x-icu"))`;
  const rows = await sql<MessageRow[]>`
    with hits as (
      select m.conversation_id, m.seq, m.created_at
      from messages m
      where m.conversation_id in (
          select mb.conversation_id from members mb
          where mb.user_id = ${input.userId}
          ${input.conversationId ? sql`and mb.conversation_id = ${input.conversationId}` : sql``}
        )
        and ${searchVector(sql)} @@ ${query}
        and m.deleted_at is null and m.body is not null
      order by m.created_at desc
      limit ${SEARCH_RANKED_CANDIDATES}
    )
    select ${messageColumns(sql)},
      ts_rank(${searchVector(sql)}, ${query}, 1) as rank
    from hits h
    join messages m on m.conversation_id = h.conversation_id and m.seq = h.seq
    left join users u on u.id = m.sender_id
    order by rank desc, m.created_at desc, m.id
    limit ${limit}`;
  return rows.map(toMessage);
}
