import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IDBFactory } from "fake-indexeddb";
import { afterAll, describe, expect, it } from "vitest";
import { indexedDbStorage } from "./indexeddb-storage.js";
import { fileStorage } from "./node/file-storage.js";
import { memoryStorage, type OutboxRecord, type OutboxStorage } from "./outbox-storage.js";

const record = (id: string, body: string, order: number): OutboxRecord => ({
  clientMessageId: id,
  conversationId: "0190a000-0000-7000-8000-000000000001",
  userId: "alice",
  senderName: "Alice",
  kind: "text",
  body,
  attachments: [{ url: "https://files.example/a.png", mime: "image/png", size: 12 }],
  createdAt: "2026-01-01T00:00:00.000Z",
  status: "pending",
  order,
});

/** The same contract for every adapter: put, load, overwrite, delete, and a copy rather than the caller's object. */
async function behavesLikeAnOutboxStore(open: () => OutboxStorage, reopen: () => OutboxStorage) {
  const s = open();
  expect(await s.load()).toEqual([]);
  const r1 = record("00000000-0000-4000-8000-000000000001", "one", 1);
  await s.put(r1);
  await s.put(record("00000000-0000-4000-8000-000000000002", "two", 2));
  r1.body = "changed by the caller after put";
  await s.put({ ...record("00000000-0000-4000-8000-000000000002", "two", 2), status: "failed", error: { code: "FORBIDDEN", message: "no" } });
  await s.delete("00000000-0000-4000-8000-000000000003"); // unknown: fine
  const loaded = (await s.load()).sort((a, b) => a.order - b.order);
  expect(loaded.map((r) => [r.body, r.status])).toEqual([
    ["one", "pending"],
    ["two", "failed"],
  ]);
  expect(loaded[0]!.attachments).toEqual(r1.attachments);
  await s.close?.();
  // A new instance (an app restart) sees what was durable.
  const again = reopen();
  await again.delete("00000000-0000-4000-8000-000000000001");
  expect((await again.load()).map((r) => r.body)).toEqual(["two"]);
  await again.close?.();
}

describe("outbox storage adapters", () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it("memory", async () => {
    const s = memoryStorage();
    await behavesLikeAnOutboxStore(() => s, () => s);
  });

  it("IndexedDB (fake-indexeddb: the same API as a browser's)", async () => {
    const factory = new IDBFactory();
    await behavesLikeAnOutboxStore(
      () => indexedDbStorage({ indexedDB: factory, name: "test-outbox" }),
      () => indexedDbStorage({ indexedDB: factory, name: "test-outbox" }),
    );
  });

  it("IndexedDB without an indexedDB global says what is missing", () => {
    expect(() => indexedDbStorage()).toThrow(/no IndexedDB/);
  });

  it("file (Node): one JSON file, replaced atomically", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-file-outbox-"));
    dirs.push(dir);
    const path = join(dir, "nested", "outbox.json");
    await behavesLikeAnOutboxStore(() => fileStorage(path), () => fileStorage(path));
    expect(JSON.parse(await readFile(path, "utf8"))).toHaveLength(1);
    expect(await readdir(join(dir, "nested"))).toEqual(["outbox.json"]); // no temporary file left
  });

  it("file: concurrent writes are serialised, none lost", async () => {
    const dir = await mkdtemp(join(tmpdir(), "parley-file-outbox-"));
    dirs.push(dir);
    const s = fileStorage(join(dir, "outbox.json"));
    await Promise.all(Array.from({ length: 30 }, (_, i) => s.put(record(`00000000-0000-4000-8000-${String(i).padStart(12, "0")}`, `m${i}`, i))));
    expect(await fileStorage(join(dir, "outbox.json")).load()).toHaveLength(30);
  });
});
