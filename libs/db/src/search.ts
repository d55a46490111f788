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
  /** Messages one search may read (the gateway's SEARCH_MAX_ROWS; migrations/0010_search_bounded_work.sql). */
  maxRows: number;
}

/** SEARCH_MAX_ROWS' default: about 100 ms of Postgres for the worst query, 50 times the rows a common word's walk reads. */
export const SEARCH_MAX_ROWS_DEFAULT = 20_000;

/**
 * Full-text search over the messages of the caller's conversations. The work is the SQL
 * function `parley_search` (migrations/0004_search_and_edits.sql, with the index and why both are shaped
 * so; re-created in 0007_search_common_words_in_index.sql, which asks the index for every word);
 * this adds the message columns (reactions included), in the function's order.
 *
 * Matches are live messages whose body holds every word of the query (configuration 'simple':
 * words lower-cased by ICU, no stemming, any language); deleted messages are never found,
 * edited ones by their current text only. Order: the newest 200 matches ranked by `ts_rank`
 * normalised by body length, ties newest first. Chat search favours recent messages, and a
 * bound on the candidates keeps a word found in thousands of messages cheap. The function
 * finds those 200 through the GIN index, or, for very common words, by walking the caller's
 * conversations newest-first (`parley_search_recent`).
 *
 * Whatever the query, one search reads at most about 2 × `maxRows` messages (0010): a query
 * whose words are common but whose whole rarely matches (`"the the"`, `the -the`) answers the
 * matches among the newest `maxRows` messages, which may be none.
 */
export async function searchMessages(sql: Sql, input: SearchQuery): Promise<Message[]> {
  const limit = Math.min(input.limit ?? LIMITS.searchDefaultLimit, LIMITS.searchMaxLimit);
  const rows = await sql<MessageRow[]>`
    select ${messageColumns(sql)}
    from parley_search(${input.userId}, ${input.q}, ${input.conversationId ?? null}::uuid, ${limit}::int, ${input.maxRows}::int) s
    join messages m on m.conversation_id = s.conversation_id and m.seq = s.seq
    left join users u on u.id = m.sender_id
    order by s.rank desc, m.created_at desc, m.conversation_id, m.seq`;
  return rows.map(toMessage);
}

/** The search index (migrations/0004_search_and_edits.sql), partitioned with messages since 0013. */
export const SEARCH_INDEX = "messages_search_idx";

/**
 * Moves the search index's pending list (GIN `fastupdate`) into the index proper and answers
 * how many pending-list pages that freed. Left alone, the list is merged by whichever insert
 * finds it past `gin_pending_list_limit` (4 MB by default): that commit then stalls, and every
 * send queued behind it waits. Called often from outside the commit path, the list never gets
 * there (and searches, which read the whole list, stay fast); why and the measurements:
 * docs/decisions/0004-search-pending-list-cleaner.md. Needs the index's owner (the role that
 * ran the migrations), like VACUUM.
 *
 * Since messages is partitioned (migrations/0013_messages_partitioned.sql) the index is one GIN
 * index per partition, each with its own pending list: every one is cleaned, in one statement.
 * A database still before 0013 (a plain index; the benchmarks compare the two) has it cleaned
 * as before.
 */
export async function cleanSearchPendingList(sql: Sql): Promise<number> {
  const [row] = await sql<{ pages: number }[]>`
    select coalesce(sum(gin_clean_pending_list(x.index)), 0)::int as pages
    from (
      select i.inhrelid::regclass as index from pg_inherits i where i.inhparent = ${SEARCH_INDEX}::regclass
      union all
      select c.oid::regclass from pg_class c where c.oid = ${SEARCH_INDEX}::regclass and c.relkind = 'i'
    ) x`;
  return row?.pages ?? 0;
}
