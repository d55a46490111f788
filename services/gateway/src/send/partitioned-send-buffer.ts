import { persistPartitionOf } from "@parley/bus";
import type { PersistItem } from "@parley/db";
import type { SendBuffer } from "./send-buffer.js";

/**
 * The pod's sends split by persist partition (PERSIST_PARTITIONS): one SendBuffer, hence one
 * window and one entry in flight, per partition, so a conversation's sends always meet in the
 * same stream and a slow Redis shard holds back only its own partition's windows.
 */
export class PartitionedSendBuffer {
  private readonly buffers: Pick<SendBuffer, "push">[];

  constructor(
    readonly partitions: number,
    bufferOf: (partition: number) => Pick<SendBuffer, "push">,
  ) {
    this.buffers = Array.from({ length: Math.max(1, partitions) }, (_, k) => bufferOf(k));
  }

  /** The partition a conversation's sends go to. */
  partitionOf(conversationId: string): number {
    return persistPartitionOf(conversationId, this.buffers.length);
  }

  push(item: PersistItem): void {
    this.buffers[this.partitionOf(item.conversationId)]!.push(item);
  }
}
