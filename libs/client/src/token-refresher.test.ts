import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TokenRefresher } from "./token-refresher.js";

describe("TokenRefresher", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(1_800_000_000_000);
  });
  afterEach(() => vi.useRealTimers());
  const nowS = () => Math.floor(Date.now() / 1000);

  it("refreshes a lead time before exp, then again before the new exp", async () => {
    const calls: number[] = [];
    const r = new TokenRefresher({
      now: () => Date.now(),
      leadMs: 60_000,
      refresh: async () => {
        calls.push(Date.now());
        return nowS() + 3_600;
      },
      onError: () => {},
    });
    const start = Date.now();
    r.arm(nowS() + 3_600, nowS());
    await vi.advanceTimersByTimeAsync(3_540_000 - 1);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([start + 3_540_000]);
    await vi.advanceTimersByTimeAsync(3_540_000);
    expect(calls).toHaveLength(2);
    r.disarm();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("a short-lived token is refreshed at two thirds of its life", async () => {
    const calls: number[] = [];
    const r = new TokenRefresher({ now: () => Date.now(), leadMs: 60_000, refresh: async () => (calls.push(Date.now()), undefined), onError: () => {} });
    const start = Date.now();
    r.arm(nowS() + 30, nowS());
    await vi.advanceTimersByTimeAsync(20_000);
    expect(calls).toEqual([start + 20_000]);
    r.disarm();
  });

  it("a failed refresh is retried until exp, then left to the server's session:expired", async () => {
    let calls = 0;
    const errors: unknown[] = [];
    const r = new TokenRefresher({
      now: () => Date.now(),
      leadMs: 60_000,
      refresh: async () => {
        calls++;
        throw new Error("identity provider down");
      },
      onError: (err) => errors.push(err),
    });
    r.arm(nowS() + 600, nowS());
    await vi.advanceTimersByTimeAsync(540_000); // first try at exp − 60 s
    expect(calls).toBe(1);
    await vi.advanceTimersByTimeAsync(30_000); // retried after 30 s
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls).toBeGreaterThanOrEqual(3);
    expect(r.armed).toBe(false); // past exp: no more timers
    expect(vi.getTimerCount()).toBe(0);
    expect(errors).toHaveLength(calls);
  });

  it("disarm while a refresh runs: the answer does not re-arm", async () => {
    let release!: (exp: number) => void;
    const r = new TokenRefresher({ now: () => Date.now(), leadMs: 1_000, refresh: () => new Promise<number>((res) => (release = res)), onError: () => {} });
    r.arm(nowS() + 10, nowS());
    await vi.advanceTimersByTimeAsync(9_000);
    r.disarm();
    release(nowS() + 100);
    await vi.advanceTimersByTimeAsync(0);
    expect(r.armed).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });
});
