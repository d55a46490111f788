import type { ChainableCommander, Redis } from "ioredis";
import { conversationRoom, type AckBatch, type Keyspace, RoomEmitter } from "@parley/bus";
import type { ErrorBody, Message } from "@parley/protocol";
import type { PersistItem, PersistOutcome } from "@parley/db";

/**
 * After a commit: every new message goes to its conversation's room (all members' devices,
 * on whichever pods they are), and every outcome goes back to the pod whose socket or HTTP
 * request waits for the ack. The commands join the turn's pipeline (turn-pipeline.ts) in
 * commit order: Redis keeps their order, and pub/sub is at-most-once anyway (clients recover
 * by `sync`).
 */
export class FanOut {
  private readonly emitter: RoomEmitter;

  constructor(
    redis: Redis,
    private readonly keyspace: Keyspace,
  ) {
    this.emitter = new RoomEmitter(redis, keyspace.adapterChannelPrefix);
  }

  add(pipeline: ChainableCommander, items: readonly PersistItem[], replyTo: readonly string[], outcomes: readonly PersistOutcome[]): void {
    const acksByPod = new Map<string, AckBatch["acks"]>();
    outcomes.forEach((outcome, i) => {
      const item = items[i]!;
      if (outcome.ok && !outcome.duplicate) {
        const room = conversationRoom(outcome.message.conversationId);
        pipeline.spublish(this.emitter.channelOf(room), this.emitter.encode(room, "message:new", outcome.message));
      }
      const pod = replyTo[i]!;
      const acks = acksByPod.get(pod) ?? [];
      acks.push({ itemId: item.id, outcome });
      acksByPod.set(pod, acks);
    });
    for (const [pod, acks] of acksByPod) pipeline.spublish(this.keyspace.ackChannel(pod), JSON.stringify({ acks } satisfies AckBatch));
  }

  /**
   * `message:new` again for messages stored by an earlier try of their entry, which may have
   * died before its fan-out left (entry-handler.ts). Clients dedupe by id.
   */
  announce(pipeline: ChainableCommander, messages: readonly Message[]): void {
    for (const message of messages) {
      const room = conversationRoom(message.conversationId);
      pipeline.spublish(this.emitter.channelOf(room), this.emitter.encode(room, "message:new", message));
    }
  }

  /** Answers sends that will not be stored (their entry or their message was refused). */
  refuse(pipeline: ChainableCommander, replyTo: string, itemIds: readonly string[], error: ErrorBody): void {
    if (itemIds.length === 0) return;
    const acks = itemIds.map((itemId) => ({ itemId, outcome: { ok: false as const, error } }));
    pipeline.spublish(this.keyspace.ackChannel(replyTo), JSON.stringify({ acks } satisfies AckBatch));
  }
}
