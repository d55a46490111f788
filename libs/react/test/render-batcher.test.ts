import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { batched, RenderBatcher } from "../src/render-batcher.js";

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

function source() {
  const listeners = new Set<() => void>();
  return {
    subscribe: (fn: () => void) => (listeners.add(fn), () => void listeners.delete(fn)),
    emit: () => listeners.forEach((fn) => fn()),
  };
}

it("100 changes within a window reach each subscriber once, at the window's end", () => {
  const s = source();
  const batcher = new RenderBatcher(16);
  const a = vi.fn();
  const b = vi.fn();
  batched(batcher, s.subscribe)(a);
  batched(batcher, s.subscribe)(b);
  for (let i = 0; i < 100; i++) s.emit();
  expect(a).not.toHaveBeenCalled();
  vi.advanceTimersByTime(16);
  expect(a).toHaveBeenCalledTimes(1);
  expect(b).toHaveBeenCalledTimes(1);
  s.emit();
  vi.advanceTimersByTime(16);
  expect(a).toHaveBeenCalledTimes(2);
});

it("an unsubscribed component is not called, even with a change pending; 0 notifies at once", () => {
  const s = source();
  const batcher = new RenderBatcher(16);
  const a = vi.fn();
  const off = batched(batcher, s.subscribe)(a);
  s.emit();
  off();
  vi.advanceTimersByTime(16);
  expect(a).not.toHaveBeenCalled();

  const now = vi.fn();
  batched(new RenderBatcher(0), s.subscribe)(now);
  s.emit();
  expect(now).toHaveBeenCalledTimes(1);
});
