import { describe, expect, it } from "vitest";
import clusterKeySlot from "cluster-key-slot";
import { createKeyspace } from "./keyspace.js";

/**
 * The part of a key Redis Cluster hashes to pick its slot: the text between the first `{`
 * and the first `}` after it, when that is not empty; otherwise the whole key. Keys with the
 * same hashed part are in the same slot, which every multi-key command and script needs.
 */
function hashed(key: string): string {
  const open = key.indexOf("{");
  if (open === -1) return key;
  const close = key.indexOf("}", open + 1);
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close);
}

const sameSlot = (keys: string[]) => new Set(keys.map(hashed)).size === 1;

describe("keyspace on a Redis Cluster: the keys a command or script touches together share a slot", () => {
  for (const namespace of ["", "test-7:"]) {
    const k = createKeyspace(namespace);
    it(`persist stream and its dead letters (namespace "${namespace}")`, () => {
      expect(sameSlot([k.persist.stream, k.persist.dead])).toBe(true);
    });
    it(`each persist partition's stream, dead letters and marks share a slot, a slot of their own per partition (namespace "${namespace}")`, () => {
      const tags = new Set<string>();
      for (let i = 0; i < 8; i++) {
        const p = k.persistPartition(i);
        expect(p.index).toBe(i);
        expect(sameSlot([p.stream, p.dead, p.uncommitted])).toBe(true);
        tags.add(hashed(p.stream));
      }
      expect(tags.size).toBe(8);
      // Partition 0 is the stream of the releases before partitions: an upgrade keeps reading it.
      expect(k.persistPartition(0)).toBe(k.persist);
      expect(k.persist.stream).toBe(`${namespace}parley:{persist}:stream`);
      // Pinned: a partition's stream must never change its name between releases.
      expect([1, 2, 3, 7].map((i) => k.persistPartition(i).stream)).toEqual(
        ["{persist:1:194}", "{persist:2:249}", "{persist:3:433}", "{persist:7:226}"].map((tag) => `${namespace}parley:${tag}:stream`),
      );
    });
    it(`the persist partitions' slots spread over a 3-master cluster's thirds, whatever their number (namespace "${namespace}")`, () => {
      for (const n of [3, 4, 6, 8, 16, 64]) {
        const perMaster = [0, 0, 0];
        for (let i = 0; i < n; i++) perMaster[Math.min(2, Math.floor(clusterKeySlot(k.persistPartition(i).stream) / (16_384 / 3)))]!++;
        // As even as n allows, give or take one.
        expect(Math.max(...perMaster) - Math.min(...perMaster), `${n} partitions: ${perMaster.join("/")}`).toBeLessThanOrEqual(Math.max(1, Math.ceil(n / 12)));
      }
    });
    it(`presence: the pod's counts, the cluster-wide counts, dirty, last seen, announced, pods (namespace "${namespace}")`, () => {
      expect(sameSlot([k.presence.pods, k.presence.podCounts("gw-1"), k.presence.podCounts("gw-2"), k.presence.counts, k.presence.dirty, k.presence.lastSeen, k.presence.announced])).toBe(true);
    });
    it(`a notification window's two keys, even for ids holding braces (namespace "${namespace}")`, () => {
      for (const [c, u] of [["c1", "u1"], ["c}2", "u{2"], ["c3", "}"]]) expect(sameSlot([k.notify.pending(c!, u!), k.notify.seen(c!, u!)])).toBe(true);
    });
    it(`every BullMQ queue's keys under the prefix's tag (namespace "${namespace}")`, () => {
      // BullMQ names a queue's keys `<prefix>:<queue>:<suffix>`; its scripts touch several at once.
      expect(sameSlot(["receipts", "notify", "push"].flatMap((q) => [`${k.queuePrefix}:${q}:wait`, `${k.queuePrefix}:${q}:active`, `${k.queuePrefix}:${q}:meta`]))).toBe(true);
    });
    it(`a pod's ack channel is a slot of its own per pod (namespace "${namespace}")`, () => {
      expect(hashed(k.ackChannel("gw-1"))).toBe("gw-1");
    });
  }
});
