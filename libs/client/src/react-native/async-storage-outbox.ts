import type { OutboxRecord, OutboxStorage } from "../outbox-storage.js";

/**
 * The part of `@react-native-async-storage/async-storage`'s default export the adapter uses
 * (typed here, so the SDK has no hard dependency on it: the app passes its own import).
 * Version 3 reads several keys with `getMany` (a record), version 2 with `multiGet` (pairs);
 * either works, and without both the adapter reads key by key.
 */
export interface AsyncStorageLike {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem(key: string): Promise<void>;
  getAllKeys(): Promise<readonly string[]>;
  getMany?(keys: string[]): Promise<Record<string, string | null>>;
  multiGet?(keys: readonly string[]): Promise<readonly (readonly [string, string | null])[]>;
}

export interface AsyncStorageOutboxOptions {
  /** Key prefix of the outbox's records (default `parley.outbox.`); one key per queued message. */
  prefix?: string;
}

/**
 * The outbox over AsyncStorage: one key per queued message (`prefix + clientMessageId`, a
 * JSON record), so a `put` or `delete` rewrites one small value, never the whole outbox, and
 * `setItem` resolving means the platform has stored it. `load` reads every key with the
 * prefix; a value that does not parse (written by another app version, or torn) is skipped
 * and removed rather than stopping the outbox.
 */
export function asyncStorageOutbox(storage: AsyncStorageLike, options: AsyncStorageOutboxOptions = {}): OutboxStorage {
  const prefix = options.prefix ?? "parley.outbox.";
  return {
    async load() {
      const keys = (await storage.getAllKeys()).filter((k) => k.startsWith(prefix));
      if (keys.length === 0) return [];
      const records: OutboxRecord[] = [];
      for (const [key, value] of await readAll(storage, keys)) {
        const record = parse(value);
        if (record && key === prefix + record.clientMessageId) records.push(record);
        else await storage.removeItem(key);
      }
      return records;
    },
    put: (record) => storage.setItem(prefix + record.clientMessageId, JSON.stringify(record)),
    delete: (clientMessageId) => storage.removeItem(prefix + clientMessageId),
  };
}

async function readAll(storage: AsyncStorageLike, keys: string[]): Promise<(readonly [string, string | null])[]> {
  if (storage.getMany) {
    const values = await storage.getMany(keys);
    return keys.map((k) => [k, values[k] ?? null] as const);
  }
  if (storage.multiGet) return [...(await storage.multiGet(keys))];
  return Promise.all(keys.map(async (k) => [k, await storage.getItem(k)] as const));
}

function parse(value: string | null): OutboxRecord | undefined {
  if (value === null) return undefined;
  try {
    const r = JSON.parse(value) as Partial<OutboxRecord> | null;
    return r && typeof r.clientMessageId === "string" && typeof r.conversationId === "string" && typeof r.userId === "string" ? (r as OutboxRecord) : undefined;
  } catch {
    return undefined;
  }
}
