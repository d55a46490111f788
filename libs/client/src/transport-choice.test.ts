import { describe, expect, it } from "vitest";
import { TransportChoice } from "./transport-choice.js";

describe("TransportChoice", () => {
  it("offers the WebSocket first, then polling first after a WebSocket-first attempt failed", () => {
    const choice = new TransportChoice(["websocket", "polling"]);
    expect(choice.next()).toEqual(["websocket", "polling"]);
    choice.attemptFailed(["websocket", "polling"]);
    expect(choice.next()).toEqual(["polling", "websocket"]);
    // Still polling first while polling-first attempts fail too (the network, not the WebSocket).
    choice.attemptFailed(["polling", "websocket"]);
    expect(choice.next()).toEqual(["polling", "websocket"]);
  });

  it("puts the WebSocket first again once it connected (directly or by upgrade)", () => {
    const choice = new TransportChoice(["websocket", "polling"]);
    choice.attemptFailed(["websocket", "polling"]);
    choice.connected("polling");
    expect(choice.next()).toEqual(["polling", "websocket"]);
    choice.connected("websocket");
    expect(choice.next()).toEqual(["websocket", "polling"]);
  });

  it("with the WebSocket only, never offers polling", () => {
    const choice = new TransportChoice(["websocket"]);
    choice.attemptFailed(["websocket"]);
    expect(choice.next()).toEqual(["websocket"]);
    expect(choice.canFallBack).toBe(false);
    expect(() => new TransportChoice([])).toThrow(/at least one/);
  });
});
