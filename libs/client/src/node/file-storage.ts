import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { OutboxRecord, OutboxStorage } from "../outbox-storage.js";

/**
 * The Node outbox: every record in one JSON file, rewritten atomically (write a temporary
 * file, then rename) so a crash mid-write leaves the previous version, never half a file.
 * Writes are serialised; an outbox holds tens of messages, so rewriting it whole is cheap.
 */
export function fileStorage(path: string): OutboxStorage {
  let records: Map<string, OutboxRecord> | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  const read = async (): Promise<Map<string, OutboxRecord>> => {
    if (records) return records;
    try {
      const list = JSON.parse(await readFile(path, "utf8")) as OutboxRecord[];
      records = new Map(list.map((r) => [r.clientMessageId, r]));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      records = new Map();
    }
    return records;
  };
  const flush = async (map: Map<string, OutboxRecord>) => {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify([...map.values()]));
    await rename(tmp, path);
  };
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };

  return {
    load: () => serial(async () => [...(await read()).values()].map((r) => structuredClone(r))),
    put: (record) =>
      serial(async () => {
        const map = await read();
        map.set(record.clientMessageId, structuredClone(record));
        await flush(map);
      }),
    delete: (id) =>
      serial(async () => {
        const map = await read();
        if (map.delete(id)) await flush(map);
      }),
  };
}
