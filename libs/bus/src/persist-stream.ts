import type { Redis } from "ioredis";
import { z } from "zod";
import { PersistItemSchema } from "./jobs.js";
import type { Keyspace } from "./keyspace.js";

/** The entry format's version: a persister refuses (dead-letters) entries of a format it does not know. */
export const PERSIST_ENTRY_VERSION = "1";

/**
 * One persist stream entry: one gateway window of sends. `replyTo` is the pod whose sockets
 * wait for the acks. The time it was added is the stream id's milliseconds (Redis' clock).
 */
export const PersistEntrySchema = z.object({
  v: z.literal(PERSIST_ENTRY_VERSION),
  replyTo: z.string().min(1),
  items: z.array(PersistItemSchema).min(1).max(5_000),
});
export type PersistEntry = z.infer<typeof PersistEntrySchema>;

/**
 * Appends one entry: one XADD whatever it holds (a BullMQ job cost ~40 commands).
 *
 * `MAXLEN ~ maxLen` bounds the stream through a long Postgres outage so Redis cannot fill up.
 * An entry trimmed that way was never committed, hence never acked: its senders heard
 * UNAVAILABLE (or timed out) and retry with the same clientMessageId, so nothing acked is lost.
 */
export function appendPersistEntry(redis: Redis, keyspace: Keyspace, entry: Omit<PersistEntry, "v">, maxLen: number): Promise<string | null> {
  return redis.xadd(
    keyspace.persist.stream,
    "MAXLEN",
    "~",
    maxLen,
    "*",
    "v",
    PERSIST_ENTRY_VERSION,
    "replyTo",
    entry.replyTo,
    "items",
    JSON.stringify(entry.items),
  );
}

/** A stream entry's fields as Redis returns them (`[name, value, name, value, …]`). */
export type StreamFields = readonly string[];

export type DecodedEntry =
  | { ok: true; entry: PersistEntry }
  /** What could still be read of a broken entry, so its senders can be answered. */
  | { ok: false; reason: string; replyTo?: string; itemIds: string[] };

/** Reads one entry's fields; never throws. */
export function decodePersistEntry(fields: StreamFields): DecodedEntry {
  const raw: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) raw[fields[i]!] = fields[i + 1]!;
  let items: unknown;
  try {
    items = raw.items === undefined ? undefined : JSON.parse(raw.items);
  } catch {
    items = undefined;
  }
  const parsed = PersistEntrySchema.safeParse({ v: raw.v, replyTo: raw.replyTo, items });
  if (parsed.success) return { ok: true, entry: parsed.data };
  const issue = parsed.error.issues[0];
  const itemIds = Array.isArray(items)
    ? items.flatMap((i: unknown) => {
        const id = (i as { id?: unknown } | null)?.id;
        return typeof id === "string" && z.string().uuid().safeParse(id).success ? [id] : [];
      })
    : [];
  return {
    ok: false,
    reason: `invalid entry: ${issue ? `${issue.path.join(".")} ${issue.message}` : "unknown"}`,
    replyTo: typeof raw.replyTo === "string" && raw.replyTo.length > 0 ? raw.replyTo : undefined,
    itemIds,
  };
}

/** When the entry was added (ms since the epoch), from its id `<ms>-<n>`. */
export function streamIdMs(id: string): number {
  return Number(id.slice(0, id.indexOf("-")));
}

/**
 * Creates the persisters' consumer group (and the stream) if missing. From id 0, not `$`:
 * gateways may append before the first persister ever started, and those entries must be read.
 * Recreating it after a Redis restart re-reads what is left of the stream, which the
 * idempotent insert makes harmless.
 */
export async function ensurePersistGroup(redis: Redis, keyspace: Keyspace): Promise<void> {
  try {
    await redis.xgroup("CREATE", keyspace.persist.stream, keyspace.persist.group, "0", "MKSTREAM");
  } catch (err) {
    if (!(err instanceof Error && err.message.includes("BUSYGROUP"))) throw err;
  }
}
