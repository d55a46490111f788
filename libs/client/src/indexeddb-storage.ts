import type { OutboxRecord, OutboxStorage } from "./outbox-storage.js";

const STORE = "outbox";

export interface IndexedDbStorageOptions {
  /** Database name (default `parley-outbox`): one per app, shared by its tabs. */
  name?: string;
  /** The IndexedDB factory (default the global `indexedDB`; tests pass fake-indexeddb's). */
  indexedDB?: IDBFactory;
}

/**
 * The browser outbox: one IndexedDB object store keyed by clientMessageId. A `put` resolves
 * when its transaction has completed, so a message survives a reload the moment `send()`
 * has stored it.
 */
export function indexedDbStorage(options: IndexedDbStorageOptions = {}): OutboxStorage {
  const factory = options.indexedDB ?? globalThis.indexedDB;
  if (!factory) throw new Error("indexedDbStorage: no IndexedDB in this environment (pass options.indexedDB)");
  let opening: Promise<IDBDatabase> | undefined;
  const open = () =>
    (opening ??= new Promise<IDBDatabase>((resolve, reject) => {
      const request = factory.open(options.name ?? "parley-outbox", 1);
      request.onupgradeneeded = () => {
        request.result.createObjectStore(STORE, { keyPath: "clientMessageId" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error ?? new Error("indexedDB open failed"));
    }));

  const run = async <T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> => {
    const db = await open();
    return new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = work(tx.objectStore(STORE));
      // Resolve on the transaction's completion, not the request's success: only then is it durable.
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error("indexedDB transaction failed"));
      tx.onabort = () => reject(tx.error ?? new Error("indexedDB transaction aborted"));
    });
  };

  return {
    load: () => run("readonly", (s) => s.getAll() as IDBRequest<OutboxRecord[]>),
    put: async (record) => {
      await run("readwrite", (s) => s.put(record));
    },
    delete: async (id) => {
      await run("readwrite", (s) => s.delete(id));
    },
    close: async () => {
      if (opening) (await opening.catch(() => undefined))?.close();
      opening = undefined;
    },
  };
}
