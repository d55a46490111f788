import { decodeAckBatch } from "@parley/bus";
import type { Logger, Redis } from "@parley/runtime";
import type { PendingAcks } from "./pending-acks.js";

export interface AckListenerDeps {
  /** The pod's events subscriber (sharded pub/sub: SSUBSCRIBE). */
  subscriber: Redis;
  /** This pod's ack channel (keyspace `ackChannel(podId)`), where the persister answers its items. */
  channel: string;
  pending: PendingAcks;
  logger: Logger;
}

/**
 * The send's return leg: the persister publishes each committed window's answers on the
 * sending pod's ack channel, and this settles the waiting sends. Frames that do not parse are
 * dropped with a debug line (the send then times out to UNAVAILABLE and the client retries).
 */
export class AckListener {
  private readonly onMessage = (channel: string, raw: string) => {
    if (channel === this.deps.channel) this.receive(raw);
  };

  constructor(private readonly deps: AckListenerDeps) {}

  async start(): Promise<void> {
    this.deps.subscriber.on("smessage", this.onMessage);
    await this.deps.subscriber.ssubscribe(this.deps.channel);
  }

  async close(): Promise<void> {
    this.deps.subscriber.off("smessage", this.onMessage);
    await this.deps.subscriber.sunsubscribe(this.deps.channel).catch(() => {});
  }

  private receive(raw: string): void {
    // Each ack is read on its own (decodeAckBatch): one unreadable entry must not leave the
    // others' senders waiting.
    const batch = decodeAckBatch(raw);
    if (!batch) return this.deps.logger.debug({ channel: this.deps.channel }, "unreadable ack batch dropped");
    for (const ack of batch.acks) this.deps.pending.settle(ack);
    if (batch.unreadable > 0) this.deps.logger.debug({ channel: this.deps.channel, unreadable: batch.unreadable }, "unreadable acks dropped");
  }
}
