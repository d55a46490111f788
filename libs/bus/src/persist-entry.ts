import { z } from "zod";
import { AttachmentSchema, MessageKindSchema, UserIdSchema, UuidSchema } from "@parley/protocol";

/** One message to store, as the gateway validated it. `id` is made by the gateway (UUIDv7). */
export const PersistItemSchema = z.object({
  id: UuidSchema,
  conversationId: UuidSchema,
  senderId: UserIdSchema,
  senderName: z.string(),
  clientMessageId: UuidSchema,
  kind: MessageKindSchema,
  body: z.string(),
  replyToId: UuidSchema.optional(),
  attachments: z.array(AttachmentSchema).optional(),
  /**
   * The body as the client sent it, when the moderation webhook replaced it (`body` is then the
   * replacement): the send-retry digest is taken over it (migration 0015), so a retry of a
   * replaced message is answered with the stored one.
   */
  sentBody: z.string().optional(),
  /**
   * v1.1: a `system` message of a token whose parley_role is "service": stored in a conversation
   * the sender is not a member of (migrations/0014). Set only by the gateway's send service.
   */
  asService: z.literal(true).optional(),
});
export type PersistItem = z.infer<typeof PersistItemSchema>;

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

/** A stream entry's fields as Redis takes and returns them (`[name, value, name, value, …]`). */
export type StreamFields = readonly string[];

/** An entry's stream fields: the items as one JSON field, so an entry is one XADD whatever it holds. */
export function encodePersistEntry(entry: Omit<PersistEntry, "v">): StreamFields {
  return ["v", PERSIST_ENTRY_VERSION, "replyTo", entry.replyTo, "items", JSON.stringify(entry.items)];
}

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
        return typeof id === "string" && UuidSchema.safeParse(id).success ? [id] : [];
      })
    : [];
  return {
    ok: false,
    reason: `invalid entry: ${issue ? `${issue.path.join(".")} ${issue.message}` : "unknown"}`,
    replyTo: typeof raw.replyTo === "string" && raw.replyTo.length > 0 ? raw.replyTo : undefined,
    itemIds,
  };
}
