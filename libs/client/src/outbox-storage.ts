import type { Attachment, ErrorBody, MessageKind } from "@parley/protocol";

/** One queued own message as it is kept in storage (plain JSON). */
export interface OutboxRecord {
  clientMessageId: string;
  conversationId: string;
  /** The user who wrote it: a shared device never sends one user's messages as another. */
  userId: string;
  senderName: string;
  kind: Exclude<MessageKind, "system">;
  body: string;
  replyToId?: string;
  attachments?: Attachment[];
  createdAt: string;
  status: "pending" | "failed";
  error?: ErrorBody;
  /** Orders records written in the same millisecond. */
  order: number;
}

/**
 * Where the outbox keeps own messages until they are acked. Three small operations, so an
 * adapter for any store (AsyncStorage, SQLite, a server-side cache) is a few lines.
 * Implementations must be durable when `put` resolves; `load` order does not matter.
 */
export interface OutboxStorage {
  load(): Promise<OutboxRecord[]>;
  put(record: OutboxRecord): Promise<void>;
  delete(clientMessageId: string): Promise<void>;
  /** Optional: release handles (called by `client.close()`). */
  close?(): Promise<void>;
}

/** The default: keeps the outbox for the life of the page or process only. */
export function memoryStorage(): OutboxStorage {
  const records = new Map<string, OutboxRecord>();
  // Copies, as a real store would make: the caller may change its object after `put`.
  // (JSON rather than structuredClone, which React Native's Hermes lacks.)
  const copy = (r: OutboxRecord): OutboxRecord => JSON.parse(JSON.stringify(r)) as OutboxRecord;
  return {
    load: async () => [...records.values()].map(copy),
    put: async (record) => {
      records.set(record.clientMessageId, copy(record));
    },
    delete: async (id) => {
      records.delete(id);
    },
  };
}
