import { randomUUID } from "node:crypto";
import type { PersistOutcome } from "@parley/db";
import { createLogger } from "@parley/runtime";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { HandOff, type NotifyQueue } from "./hand-off.js";
import { createPersisterMetrics } from "../metrics.js";

/** Records the adds (the windowing is what is tested here; BullMQ itself in test/persister.test.ts). */
function recorder(fail = false) {
  const added: string[][] = [];
  const queue: NotifyQueue = {
    add: async (_name, data) => {
      added.push(data.messages.map((m) => m.id));
      if (fail) throw new Error("redis is gone");
    },
  };
  return { queue, added };
}

const stored = (seq: number, duplicate = false): PersistOutcome => ({
  ok: true,
  duplicate,
  message: {
    id: randomUUID(),
    conversationId: "c1",
    seq,
    senderId: "alice",
    senderName: "Alice",
    clientMessageId: randomUUID(),
    kind: "text",
    body: "hi",
    createdAt: new Date().toISOString(),
  },
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger({ service: "persister", level: "silent" });

describe("HandOff", () => {
  it("hands the commits of one window off as one job, in commit order, duplicates and refusals left out", async () => {
    const { queue, added } = recorder();
    const handOff = new HandOff(queue, createPersisterMetrics(new Registry()), logger, { windowMs: 50, maxMessages: 1_000 });
    const commits = [[stored(1)], [stored(2), stored(1, true)], [{ ok: false, error: { code: "FORBIDDEN", message: "no" } } as PersistOutcome, stored(3)]];
    for (const outcomes of commits) handOff.committed(outcomes);
    expect(added).toEqual([]);
    await sleep(150);
    const ids = [commits[0]![0]!, commits[1]![0]!, commits[2]![1]!].map((o) => (o.ok ? o.message.id : ""));
    expect(added).toEqual([ids]);
    handOff.committed([stored(4)]);
    await sleep(150);
    expect(added).toHaveLength(2);
  });

  it("hands a full window off at once, and close() hands off what is left and waits for it", async () => {
    const { queue, added } = recorder();
    const handOff = new HandOff(queue, createPersisterMetrics(new Registry()), logger, { windowMs: 60_000, maxMessages: 3 });
    handOff.committed([stored(1), stored(2)]);
    handOff.committed([stored(3)]);
    expect(added.map((a) => a.length)).toEqual([3]);
    handOff.committed([stored(4)]);
    await handOff.close();
    expect(added.map((a) => a.length)).toEqual([3, 1]);
  });

  it("counts a failed hand-off and carries on", async () => {
    const { queue } = recorder(true);
    const registry = new Registry();
    const handOff = new HandOff(queue, createPersisterMetrics(registry), logger, { windowMs: 0, maxMessages: 1_000 });
    handOff.committed([stored(1)]);
    await handOff.close();
    const metric = await registry.getSingleMetric("parley_persist_handoffs_total")!.get();
    expect(metric.values.find((v) => v.labels.outcome === "failed")?.value).toBe(1);
  });

  it("settled() resolves once everything given so far has left (the XACK waits for it), failed or not", async () => {
    const { queue, added } = recorder();
    const handOff = new HandOff(queue, createPersisterMetrics(new Registry()), logger, { windowMs: 80, maxMessages: 1_000 });
    let settled = false;
    handOff.committed([stored(1)]);
    void handOff.settled().then(() => (settled = true));
    await sleep(30);
    expect(settled).toBe(false);
    await sleep(120);
    expect(added).toHaveLength(1);
    expect(settled).toBe(true);
    // Nothing open: at once.
    await handOff.settled();
    const failing = new HandOff(recorder(true).queue, createPersisterMetrics(new Registry()), logger, { windowMs: 10, maxMessages: 1_000 });
    const two = stored(2);
    if (two.ok) failing.add([two.message]);
    await failing.settled();
  });
});
