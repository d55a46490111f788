import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { Message } from "@parley/protocol";
import { MessageWindow } from "./message-window.js";

const conversationId = randomUUID();
function msg(seq: number, over: Partial<Message> = {}): Message {
  return {
    id: randomUUID(),
    conversationId,
    seq,
    senderId: "bob",
    senderName: "Bob",
    clientMessageId: randomUUID(),
    kind: "text",
    body: `m${seq}`,
    createdAt: new Date(1_700_000_000_000 + seq).toISOString(),
    ...over,
  };
}

describe("MessageWindow", () => {
  it("orders by seq whatever the arrival order, and keeps each id once", () => {
    const w = new MessageWindow();
    w.setFloor(0);
    const [m1, m2, m3] = [msg(1), msg(2), msg(3)];
    expect(w.add([m3, m1])).toEqual([m3, m1]);
    expect(w.add([m2, m1, m3])).toEqual([m2]); // m1, m3 again: duplicates
    expect(w.list().map((m) => m.seq)).toEqual([1, 2, 3]);
    expect(w.lastSeq).toBe(3);
    expect(w.hasGap).toBe(false);
  });

  it("detects a gap when a seq beyond lastSeq + 1 arrives, and closes it when the missing ones do", () => {
    const w = new MessageWindow();
    w.setFloor(4);
    w.add([msg(5), msg(6)]);
    expect(w.hasGap).toBe(false);
    w.add([msg(9)]);
    expect(w.hasGap).toBe(true);
    expect(w.lastSeq).toBe(6);
    expect(w.maxSeq).toBe(9);
    w.add([msg(7)]);
    expect(w.hasGap).toBe(true);
    w.add([msg(8)]);
    expect(w.hasGap).toBe(false);
    expect(w.lastSeq).toBe(9);
  });

  it("holds live messages that come before the window is placed, and merges them once it is", () => {
    const w = new MessageWindow();
    w.add([msg(12)]);
    expect(w.known).toBe(false);
    expect(w.hasGap).toBe(false); // unknown floor: nothing to compare with yet
    w.add([msg(10), msg(11)]);
    w.setFloor(9); // the first sync: newest page starts at 10
    expect(w.lastSeq).toBe(12);
    expect(w.list().map((m) => m.seq)).toEqual([10, 11, 12]);
  });

  it("pages older history below the floor, down to the first message", () => {
    const w = new MessageWindow();
    w.setFloor(20);
    w.add([msg(21)]);
    w.addOlder([msg(11), msg(12), msg(20)], true);
    expect(w.floor).toBe(10);
    expect(w.addOlder([msg(1), msg(10)], false)).toHaveLength(2);
    expect(w.floor).toBe(0);
    expect(w.list()[0]!.seq).toBe(1);
    expect(w.lastSeq).toBe(21);
  });

  it("replaces a held message (edits, tombstones) in place; an unknown one is ignored", () => {
    const w = new MessageWindow();
    w.setFloor(0);
    const m = msg(1);
    w.add([m]);
    expect(w.replace({ ...m, body: null, deletedAt: new Date().toISOString() })).toBe(true);
    expect(w.list()[0]!.body).toBeNull();
    expect(w.replace(msg(2))).toBe(false);
    expect(w.size).toBe(1);
  });

  it("dropOldest raises the floor past what it drops; dropNewest ends the window before them", () => {
    const w = new MessageWindow();
    w.setFloor(0);
    w.add([1, 2, 3, 4, 5, 6].map((n) => msg(n)));
    w.dropOldest(2);
    expect(w.list().map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    expect(w.floor).toBe(2);
    expect(w.lastSeq).toBe(6);
    w.dropNewest(3);
    expect(w.list().map((m) => m.seq)).toEqual([3]);
    expect(w.lastSeq).toBe(3);
    expect(w.hasGap).toBe(false);
    // A message seen again after being dropped comes back once.
    const again = w.add([msg(4)]);
    expect(again).toHaveLength(1);
    expect(w.lastSeq).toBe(4);
  });

  it("reset forgets the placement and every message", () => {
    const w = new MessageWindow();
    w.setFloor(10);
    w.add([msg(11), msg(12)]);
    w.reset();
    expect(w.known).toBe(false);
    expect(w.size).toBe(0);
    expect(w.lastSeq).toBe(0);
    w.add([msg(40)]);
    w.setFloor(39);
    expect(w.lastSeq).toBe(40);
  });
});
