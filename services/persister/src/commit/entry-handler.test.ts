import { randomUUID } from "node:crypto";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { testLogger } from "@parley/testkit";
import { createKeyspace, decodePersistEntry, PERSIST_ENTRY_VERSION } from "@parley/bus";
import type { PersistItem, PersistOutcome } from "@parley/db";
import type { Message } from "@parley/protocol";
import { createPersisterMetrics } from "../metrics.js";
import { AfterCommit } from "../publish/after-commit.js";
import { DeadLetters } from "../publish/dead-letters.js";
import type { FanOut } from "../publish/fan-out.js";
import type { HandOff } from "../publish/hand-off.js";
import type { TurnPipeline } from "../publish/turn-pipeline.js";
import type { CommitBatcher } from "./commit-batcher.js";
import { createEntryHandler } from "./entry-handler.js";

// The handler's retry and dead-letter decisions with stand-ins for the batcher, the turn
// pipeline and the fan-out (the after-commit and dead-letter modules are the real ones); the
// real batcher, pipeline and fan-out run against Postgres and Redis in test/persister.test.ts
// and tests/cluster (outages, process kills).
const logger = testLogger();
const keyspace = createKeyspace("unit");

function setUp(submit: CommitBatcher["submit"]) {
  const acked: string[] = [];
  const commands: string[] = [];
  const chain = new Proxy({}, { get: (_t, name) => () => commands.push(String(name)) });
  const pipeline = { get: () => chain, ack: (id: string) => acked.push(id) } as unknown as TurnPipeline;
  const fanOut = {
    refuse: () => commands.push("refuse"),
    announce: (_p: unknown, messages: { id: string }[]) => commands.push(...messages.map((m) => `announce ${m.id}`)),
  } as unknown as FanOut;
  const handedOff: string[] = [];
  const handOff = { add: (messages: { id: string }[]) => handedOff.push(...messages.map((m) => m.id)), settled: () => Promise.resolve() } as unknown as HandOff;
  const metrics = createPersisterMetrics(new Registry());
  let holds = 0;
  let maxHolds = 0;
  const stop = new AbortController();
  const handle = createEntryHandler({
    batcher: { submit },
    afterCommit: new AfterCommit({ pipeline, fanOut, handOff, metrics }),
    deadLetters: new DeadLetters({ pipeline, fanOut, metrics, logger }),
    metrics,
    logger,
    readGate: {
      hold: () => {
        holds++;
        maxHolds = Math.max(maxHolds, holds);
        return () => holds--;
      },
    },
    signal: stop.signal,
  });
  return { handle, acked, commands, handedOff, metrics, stop, holding: () => holds, maxHolds: () => maxHolds };
}

const item = (): PersistItem =>
  ({ id: randomUUID(), conversationId: randomUUID(), senderId: "a", senderName: "A", clientMessageId: randomUUID(), kind: "text", body: "hi" }) as PersistItem;
const fieldsOf = (items: PersistItem[]) => ["v", PERSIST_ENTRY_VERSION, "replyTo", "pod", "items", JSON.stringify(items)];
/** The XACK waits for the hand-off's settled() promise: lets it run. */
const flushed = () => new Promise((r) => setImmediate(r));
const outage = () => Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
const value = async (metrics: ReturnType<typeof createPersisterMetrics>, name: keyof ReturnType<typeof createPersisterMetrics>, labels: Record<string, string>) =>
  (await metrics[name].get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k as never] === l))?.value;

describe("entry handler", () => {
  it("waits out an outage holding the reader, then commits and acks; nothing dead-lettered", async () => {
    let calls = 0;
    const t = setUp(async (items) => {
      if (++calls <= 3) throw outage();
      return items.map(() => ({ ok: true, duplicate: false, message: {} }) as PersistOutcome);
    });
    const fields = fieldsOf([item()]);
    const id = `${Date.now()}-0`;
    const done = t.handle(keyspace.persist, id, decodePersistEntry(fields), fields, false);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.holding()).toBe(1);
    await done;
    await flushed();
    expect(calls).toBe(4);
    expect(t.holding()).toBe(0);
    expect(t.maxHolds()).toBe(1);
    expect(t.acked).toEqual([id]);
    expect(t.commands).not.toContain("xadd");
    expect(await value(t.metrics, "entriesFailed", { reason: "transient" })).toBe(3);
    expect(await value(t.metrics, "deadLetters", { reason: "invalid" })).toBe(0);
  });

  it("leaves the entry pending (no ack) when stopped during an outage", async () => {
    const t = setUp(async () => {
      throw outage();
    });
    const fields = fieldsOf([item()]);
    const done = t.handle(keyspace.persist, "1-0", decodePersistEntry(fields), fields, false);
    await new Promise((r) => setTimeout(r, 20));
    t.stop.abort();
    await done;
    expect(t.acked).toEqual([]);
    expect(t.holding()).toBe(0);
  });

  it("dead-letters an invalid entry, answers what it can and acks it", async () => {
    const t = setUp(async () => {
      throw new Error("never called");
    });
    const fields = ["v", "9", "replyTo", "pod", "items", JSON.stringify([item()])];
    await t.handle(keyspace.persist, "2-0", decodePersistEntry(fields), fields, false);
    expect(t.commands).toEqual(["refuse", "xadd"]);
    expect(t.acked).toEqual(["2-0"]);
    expect(await value(t.metrics, "deadLetters", { reason: "invalid" })).toBe(1);
  });

  describe("messages an earlier try may have stored and not announced", () => {
    const duplicateOf = (i: PersistItem): PersistOutcome => ({ ok: true, duplicate: true, message: { id: i.id } as Message });
    const newOf = (i: PersistItem): PersistOutcome => ({ ok: true, duplicate: false, message: { id: i.id } as Message });

    it("a redelivered entry announces its duplicates again (fan-out and hand-off), before its XACK", async () => {
      const [stored, fresh] = [item(), item()];
      const t = setUp(async () => [duplicateOf(stored), newOf(fresh)]);
      const fields = fieldsOf([stored, fresh]);
      await t.handle(keyspace.persist, "3-0", decodePersistEntry(fields), fields, true);
      await flushed();
      expect(t.commands).toEqual([`announce ${stored.id}`]);
      expect(t.handedOff).toEqual([stored.id]);
      expect(t.acked).toEqual(["3-0"]);
      expect(await value(t.metrics, "announcedAgain", {})).toBe(1);
    });

    it("an entry retried after a failed attempt (its COMMIT's reply lost) announces its duplicates again", async () => {
      const one = item();
      let calls = 0;
      const t = setUp(async () => {
        if (++calls === 1) throw outage();
        return [duplicateOf(one)];
      });
      const fields = fieldsOf([one]);
      await t.handle(keyspace.persist, "4-0", decodePersistEntry(fields), fields, false);
      expect(t.commands).toEqual([`announce ${one.id}`]);
      expect(t.handedOff).toEqual([one.id]);
    });

    it("a fresh entry's duplicates (a client's retry) are not announced again", async () => {
      const one = item();
      const t = setUp(async () => [duplicateOf(one)]);
      const fields = fieldsOf([one]);
      await t.handle(keyspace.persist, "5-0", decodePersistEntry(fields), fields, false);
      await flushed();
      expect(t.commands).toEqual([]);
      expect(t.handedOff).toEqual([]);
      expect(t.acked).toEqual(["5-0"]);
    });
  });
});
