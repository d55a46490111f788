export type TransportName = "websocket" | "polling";

/**
 * Which Socket.IO transports each connection attempt offers, in order.
 *
 * WebSocket first (no sticky sessions needed, lowest overhead). When the WebSocket cannot
 * open, the same attempt falls back to long-polling by itself (engine.io's
 * `tryAllTransports`). A WebSocket that neither opens nor fails (a proxy that swallows the
 * Upgrade) only ends with the attempt's timeout: after such a failed attempt the next ones
 * start with polling, which then upgrades to a WebSocket whenever one gets through; an upgrade
 * that succeeds puts the WebSocket first again.
 */
export class TransportChoice {
  private websocketFailed = false;

  constructor(private readonly allowed: readonly TransportName[]) {
    if (allowed.length === 0) throw new Error("transports: at least one of websocket, polling");
  }

  /** Whether an attempt may fall back from one transport to the next. */
  get canFallBack(): boolean {
    return this.allowed.length > 1;
  }

  /** The transports of the next attempt, the first one tried first. */
  next(): TransportName[] {
    if (this.websocketFailed && this.allowed.includes("polling")) return ["polling", ...this.allowed.filter((t) => t !== "polling")];
    return [...this.allowed];
  }

  /** An attempt that offered the WebSocket first did not connect. */
  attemptFailed(offered: readonly TransportName[]): void {
    if (offered[0] === "websocket") this.websocketFailed = true;
  }

  /** The attempt connected, or upgraded, on `transport`. */
  connected(transport: string): void {
    if (transport === "websocket") this.websocketFailed = false;
  }
}
