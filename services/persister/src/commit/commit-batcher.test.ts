import { describe, expect, it } from "vitest";
import type { PersistItem, PersistOutcome } from "@parley/db";
import { CommitBatcher, laneOf } from "./commit-batcher.js";
import { LaneStoppedError } from "./commit-lane.js";
import { PoisonItemsError } from "./poison-items-error.js";

// The batcher's own logic (merging, ordering, isolating a poison entry) with a commit function
// standing in for Postgres; the real commit is tested against Postgres in test/persister.test.ts.
const item = (body: string) => ({ body }) as PersistItem;
const ok = (i: PersistItem): PersistOutcome => ({ ok: true, duplicate: false, message: { body: i.body } as never });

describe("commit batcher", () => {
  it("keeps a conversation in one lane and answers an entry spread over lanes in its order", async () => {
    const seen = new Map<string, Set<number>>();
    const batcher = new CommitBatcher({
      lanes: 4,
      maxBatch: 100,
      minIntervalMs: 0,
      commit: async (items) => items.map(ok),
      onCommitted: () => {},
    });
    const items = Array.from({ length: 40 }, (_, i) => ({ body: String(i), conversationId: `c${i % 7}` }) as PersistItem);
    const answers = await batcher.submit(items, "pod");
    expect(answers.map((a) => a.ok && a.message.body)).toEqual(items.map((i) => i.body));
    for (const i of items) {
      const lanes = seen.get(i.conversationId) ?? new Set();
      lanes.add(laneOf(i.conversationId, 4));
      seen.set(i.conversationId, lanes);
    }
    expect([...seen.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set(items.map((i) => laneOf(i.conversationId, 4))).size).toBeGreaterThan(1);
  });

  it("with a commit clock, commits a send at once after a quiet spell and merges the sends of the next interval", async () => {
    const starts: { at: number; bodies: string[] }[] = [];
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 40,
      commit: async (items) => {
        starts.push({ at: performance.now(), bodies: items.map((i) => i.body) });
        return items.map(ok);
      },
      onCommitted: () => {},
    });
    const first = batcher.submit([item("a")], "pod");
    await first;
    // Commits take no time here: without the clock each of these would be a transaction of its own.
    const rest: Promise<PersistOutcome[]>[] = [];
    for (const body of ["b", "c", "d"]) {
      rest.push(batcher.submit([item(body)], "pod"));
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(rest);
    expect(starts.map((s) => s.bodies)).toEqual([["a"], ["b", "c", "d"]]);
    // Generous lower bound for timer slack; the point is that the second commit waited.
    expect(starts[1]!.at - starts[0]!.at).toBeGreaterThanOrEqual(35);

    // A quiet spell longer than the interval: the next send is committed at once.
    await new Promise((r) => setTimeout(r, 60));
    const before = performance.now();
    await batcher.submit([item("e")], "pod");
    expect(starts.at(-1)!.bodies).toEqual(["e"]);
    expect(starts.at(-1)!.at - before).toBeLessThan(35);
  });

  it("commits the first entry at once and merges what arrives meanwhile", async () => {
    const batches: string[][] = [];
    const committed: string[] = [];
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 0,
      commit: async (items) => {
        batches.push(items.map((i) => i.body));
        await new Promise((r) => setTimeout(r, 10));
        return items.map(ok);
      },
      onCommitted: (items) => committed.push(...items.map((i) => i.body)),
    });
    const answers = await Promise.all(["a", "b", "c", "d"].map((b) => batcher.submit([item(b)], "pod")));
    expect(batches).toEqual([["a"], ["b", "c", "d"]]);
    expect(committed).toEqual(["a", "b", "c", "d"]);
    expect(answers.map((a) => a[0]!.ok && a[0]!.message.body)).toEqual(["a", "b", "c", "d"]);
  });

  it("caps a transaction at maxBatch messages", async () => {
    const sizes: number[] = [];
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 3,
      minIntervalMs: 0,
      commit: async (items) => (sizes.push(items.length), items.map(ok)),
      onCommitted: () => {},
    });
    await Promise.all(Array.from({ length: 8 }, (_, i) => batcher.submit([item(String(i))], "pod")));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(8);
  });

  it("retries the entries of a failed merged batch one by one, so only the poison one fails", async () => {
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 0,
      commit: async (items) => {
        if (items.some((i) => i.body === "poison")) throw Object.assign(new Error("invalid byte sequence"), { code: "22021" });
        await new Promise((r) => setTimeout(r, 5));
        return items.map(ok);
      },
      onCommitted: () => {},
    });
    const first = batcher.submit([item("first")], "pod");
    const results = await Promise.allSettled([first, batcher.submit([item("poison")], "pod"), batcher.submit([item("fine")], "pod")]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
  });

  it("commits the rest of an entry and refuses only its poison messages", async () => {
    const committed: string[] = [];
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 0,
      commit: async (items) => {
        if (items.some((i) => i.body === "poison")) throw Object.assign(new Error("invalid byte sequence"), { code: "22021" });
        return items.map(ok);
      },
      onCommitted: (items) => committed.push(...items.map((i) => i.body)),
    });
    const entry = [item("a"), item("poison"), item("b"), item("c")];
    const err = await batcher.submit(entry, "pod").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PoisonItemsError);
    const poison = err as PoisonItemsError;
    expect(poison.failed).toEqual([1]);
    expect(poison.reason).toMatch(/invalid byte sequence/);
    expect(poison.outcomes.map((o) => o.ok)).toEqual([true, false, true, true]);
    expect(committed.sort()).toEqual(["a", "b", "c"]);
  });

  it("fails the whole batch at once on an outage (retried later by the entry handler)", async () => {
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 0,
      commit: async () => {
        throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      },
      onCommitted: () => {},
    });
    const results = await Promise.allSettled([batcher.submit([item("a")], "p"), batcher.submit([item("b")], "p")]);
    expect(results.every((r) => r.status === "rejected")).toBe(true);
  });

  it("puts a held conversation aside, in order, while the others keep committing, and commits it once free", async () => {
    let held = true;
    const committed: string[] = [];
    let heldCount = 0;
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 0,
      heldRetryMs: { initial: 5, max: 20 },
      // Conversation "x"'s row is held by another transaction while `held`.
      commit: async (items) => items.map((i) => (held && i.conversationId === "x" ? undefined : ok(i))),
      onCommitted: (items) => committed.push(...items.map((i) => i.body)),
      onHeld: (n) => (heldCount += n),
    });
    const m = (body: string, conversationId: string) => ({ body, conversationId }) as PersistItem;
    const x1 = batcher.submit([m("x1", "x"), m("y1", "y")], "pod");
    const y2 = await batcher.submit([m("y2", "y")], "pod");
    const x2 = batcher.submit([m("x2", "x")], "pod");
    const y3 = await batcher.submit([m("y3", "y")], "pod");
    expect(y2[0]!.ok && y3[0]!.ok).toBe(true);
    expect(committed).toEqual(["y1", "y2", "y3"]);
    expect(batcher.heldMessages()).toBe(2);
    await new Promise((r) => setTimeout(r, 30));
    expect(heldCount).toBeGreaterThanOrEqual(3);
    held = false;
    const [a, b] = await Promise.all([x1, x2]);
    expect(a.map((o) => o.ok && o.message.body)).toEqual(["x1", "y1"]);
    expect(b[0]!.ok && b[0]!.message.body).toBe("x2");
    // x's items left in their order, after the others that were free.
    expect(committed).toEqual(["y1", "y2", "y3", "x1", "x2"]);
    expect(batcher.heldMessages()).toBe(0);
    await batcher.idle();
  });

  it("keeps a held conversation's order through the halves of a poison isolation", async () => {
    let heldCalls = 1;
    const committed: string[] = [];
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 0,
      heldRetryMs: { initial: 1, max: 5 },
      commit: async (items) => {
        if (items.some((i) => i.body === "poison")) throw Object.assign(new Error("invalid byte sequence"), { code: "22021" });
        // "x" is held for the first transaction that sees it only: a later half would be free.
        if (items.some((i) => i.conversationId === "x") && heldCalls-- > 0) return items.map((i) => (i.conversationId === "x" ? undefined : ok(i)));
        return items.map(ok);
      },
      onCommitted: (items) => committed.push(...items.map((i) => i.body)),
    });
    const m = (body: string, conversationId: string) => ({ body, conversationId }) as PersistItem;
    const err = await batcher.submit([m("x1", "x"), m("y1", "y"), m("poison", "y"), m("x2", "x")], "pod").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as PoisonItemsError).failed).toEqual([2]);
    expect(committed.filter((b) => b.startsWith("x"))).toEqual(["x1", "x2"]);
  });

  it("on stop, answers the entries waiting for a held conversation LaneStoppedError (left pending) and still commits the rest", async () => {
    const batcher = new CommitBatcher({
      lanes: 1,
      maxBatch: 100,
      minIntervalMs: 0,
      heldRetryMs: { initial: 50, max: 50 },
      commit: async (items) => items.map((i) => (i.conversationId === "x" ? undefined : ok(i))),
      onCommitted: () => {},
    });
    const m = (body: string, conversationId: string) => ({ body, conversationId }) as PersistItem;
    const waiting = batcher.submit([m("x1", "x")], "pod").catch((e: unknown) => e);
    await batcher.submit([m("y1", "y")], "pod");
    batcher.stopWaiting();
    expect(await waiting).toBeInstanceOf(LaneStoppedError);
    expect(await batcher.submit([m("x2", "x")], "pod").catch((e: unknown) => e)).toBeInstanceOf(LaneStoppedError);
    expect((await batcher.submit([m("y2", "y")], "pod"))[0]!.ok).toBe(true);
    await batcher.idle();
  });
});
