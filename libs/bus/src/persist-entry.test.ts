import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decodePersistEntry, encodePersistEntry, PERSIST_ENTRY_VERSION, type PersistItem } from "./persist-entry.js";

const item = (over: Partial<PersistItem> = {}): PersistItem => ({
  id: randomUUID(),
  conversationId: randomUUID(),
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: randomUUID(),
  kind: "text",
  body: "hi",
  ...over,
});

describe("persist entry", () => {
  it("decodes what it encodes", () => {
    const entry = { replyTo: "gw-1", items: [item(), item({ replyToId: randomUUID(), attachments: [{ url: "https://cdn.example/a.png", mime: "image/png", size: 10 }] })] };
    const fields = encodePersistEntry(entry);
    expect(fields.slice(0, 4)).toEqual(["v", PERSIST_ENTRY_VERSION, "replyTo", "gw-1"]);
    expect(decodePersistEntry(fields)).toEqual({ ok: true, entry: { v: PERSIST_ENTRY_VERSION, ...entry } });
  });

  it("answers a broken entry with what it can still read: who waits, and for which items", () => {
    const good = item();
    const decoded = decodePersistEntry(["v", PERSIST_ENTRY_VERSION, "replyTo", "gw-1", "items", JSON.stringify([good, { id: "nope" }])]);
    expect(decoded).toMatchObject({ ok: false, replyTo: "gw-1", itemIds: [good.id] });
    expect(decodePersistEntry(["v", "2", "items", "{"])).toMatchObject({ ok: false, replyTo: undefined, itemIds: [] });
  });
});
