import { AckBatchSchema, AckSchema } from "@parley/bus";
import type { Logger, Redis } from "@parley/runtime";
import { parseJson } from "../parse-json.js";
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
    const batch = AckBatchSchema.safeParse(parseJson(raw));
    if (!batch.success) return this.deps.logger.debug({ channel: this.deps.channel }, "unreadable ack batch dropped");
    // Each ack on its own: one unreadable entry must not leave the others' senders waiting.
    for (const entry of batch.data.acks) {
      const ack = AckSchema.safeParse(entry);
      if (ack.success) this.deps.pending.settle(ack.data);
      else this.deps.logger.debug({ channel: this.deps.channel }, "unreadable ack dropped");
    }
  }
}

