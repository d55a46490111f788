import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createTypingMetrics } from "./metrics.js";
import { PressureGate } from "./pressure-gate.js";
import { TypingService } from "./typing-service.js";

describe("pressure gate", () => {
  it("sheds while the last window's delay is over the threshold, and stops when it is back under", () => {
    let delay = 5;
    const gate = new PressureGate({ maxDelayMs: 100, sample: () => delay });
    expect(gate.shedding).toBe(false);
    delay = 250;
    gate.refresh();
    expect(gate.shedding).toBe(true);
    expect(gate.delayMs).toBe(250);
    delay = 100; // at the threshold: not over it
    gate.refresh();
    expect(gate.shedding).toBe(false);
  });

  it("sees a blocked event loop through Node's own delay histogram", async () => {
    const gate = new PressureGate({ maxDelayMs: 100 });
    try {
      await new Promise((r) => setTimeout(r, 50)); // let the histogram take a few samples
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // the event loop is blocked, as under a CPU storm
      }
      // Node records the late tick when its own timer runs: let it, before sampling.
      await new Promise((r) => setTimeout(r, 30));
      expect(gate.refresh()).toBeGreaterThan(100);
      expect(gate.shedding).toBe(true);
    } finally {
      gate.stop();
    }
  });
});

describe("typing under pressure", () => {
  it("drops typing:start while the gate sheds (ack {} all the same, counted), forwards again after", async () => {
    const emitted: unknown[] = [];
    const io = { to: () => ({ except: () => ({ emit: (_e: string, payload: unknown) => emitted.push(payload) }) }) };
    let checks = 0;
    const gate = { shedding: true };
    const registry = new Registry();
    const metrics = createTypingMetrics(registry);
    const typing = new TypingService({
      io: io as never,
      conversations: { requireRole: async () => (checks++, "member" as const) },
      gate,
      blocks: { separatedFrom: async () => [] },
      metrics,
      config: { throttleMs: 1_000, timeoutMs: 6_000 },
    });
    try {
      const user = { userId: "u1", name: "U" };
      const conversationId = "0193a0b2-0000-7000-8000-000000000001";
      expect(await typing.start(user, conversationId)).toEqual({});
      expect(await typing.start(user, conversationId)).toEqual({});
      expect(emitted).toEqual([]);
      // Shed before any other work: not even the membership look-up ran.
      expect(checks).toBe(0);
      expect((await metrics.shed.get()).values[0]?.value).toBe(2);
      expect(typing.size).toBe(0);

      gate.shedding = false;
      await typing.start(user, conversationId);
      expect(emitted).toEqual([{ conversationId, userId: "u1", userName: "U", isTyping: true }]);
    } finally {
      typing.close();
    }
  });
});
