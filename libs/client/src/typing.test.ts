import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LocalTyping, RemoteTypists } from "./typing.js";

describe("typing timers", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("local: the first keystroke starts, more keep it alive (renewed every 3 s), 2 s idle stops", () => {
    const sent: string[] = [];
    const t = new LocalTyping({ idleMs: 2_000, renewMs: 3_000, now: () => Date.now(), send: (e) => sent.push(e) });
    t.input();
    expect(sent).toEqual(["typing:start"]);
    for (let i = 0; i < 8; i++) {
      vi.advanceTimersByTime(500);
      t.input(); // typing steadily for 4 s
    }
    expect(sent).toEqual(["typing:start", "typing:start"]); // renewed once, at 3 s
    vi.advanceTimersByTime(1_999);
    expect(sent).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(["typing:start", "typing:start", "typing:stop"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("local: a send stops at once; stop without typing sends nothing", () => {
    const sent: string[] = [];
    const t = new LocalTyping({ idleMs: 2_000, renewMs: 3_000, now: () => Date.now(), send: (e) => sent.push(e) });
    t.stop();
    expect(sent).toEqual([]);
    t.input();
    t.stop();
    expect(sent).toEqual(["typing:start", "typing:stop"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("remote: a typist expires unless renewed; isTyping false or a message removes at once", () => {
    const seen: string[][] = [];
    const r = new RemoteTypists(7_000, (list) => seen.push(list.map((t) => t.userId)));
    r.set("bob", "Bob", true);
    r.set("carol", "Carol", true);
    vi.advanceTimersByTime(5_000);
    r.set("bob", "Bob", true); // renewed: no change reported
    expect(seen).toEqual([["bob"], ["bob", "carol"]]);
    vi.advanceTimersByTime(2_000); // carol's 7 s are up: her stop was lost
    expect(r.list.map((t) => t.userId)).toEqual(["bob"]);
    r.set("bob", "Bob", false);
    expect(r.list).toEqual([]);
    r.set("dave", "Dave", true);
    r.remove("dave");
    expect(vi.getTimerCount()).toBe(0);
  });
});
