import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";
import type { LocalCluster } from "./local-cluster.js";
import { ask, connectSocket, type ClientSocket } from "./socket-client.js";

export interface LightLoadStats {
  sent: number;
  acked: number;
  /** Failed client calls by event and code (or "timeout"). */
  failures: Record<string, number>;
  received: number;
  syncs: number;
  reads: number;
  typing: number;
  searches: number;
}

interface Member {
  userId: string;
  socket: ClientSocket;
  conversations: string[];
  /** Highest seq seen per conversation, for reads and sync cursors. */
  lastSeq: Map<string, number>;
}

/**
 * Light, steady traffic of every kind the dashboards chart, across both gateways: sends
 * (each member every `sendEveryMs`), `message:delivered` for every message received, reads,
 * syncs by cursor, history pages, typing, presence queries, searches and conversation
 * lists over HTTP, and one refused handshake. Runs until stop().
 */
export async function startLightLoad(cluster: LocalCluster, options: { users?: number; sendEveryMs?: number } = {}) {
  const userCount = options.users ?? 6;
  const sendEveryMs = options.sendEveryMs ?? 600;
  const userIds = Array.from({ length: userCount }, (_, i) => `load-${i}`);
  // Two overlapping groups, so fan-out crosses gateways and every member has two rooms.
  const half = Math.ceil(userCount / 2);
  const groupA = await cluster.createGroup(userIds[0]!, userIds.slice(0, half + 1), "load A");
  const groupB = await cluster.createGroup(userIds[userCount - 1]!, userIds.slice(half - 1), "load B");
  const stats: LightLoadStats = { sent: 0, acked: 0, failures: {}, received: 0, syncs: 0, reads: 0, typing: 0, searches: 0 };
  const fail = (what: string) => (stats.failures[what] = (stats.failures[what] ?? 0) + 1);

  const members: Member[] = await Promise.all(
    userIds.map(async (userId, i) => {
      const socket = await connectSocket(cluster.gateways[i % cluster.gateways.length]!.url, await cluster.token(userId, `Load ${i}`));
      const conversations = [groupA, groupB].filter((_, g) => (g === 0 ? i <= half : i >= half - 1));
      const member: Member = { userId, socket, conversations, lastSeq: new Map() };
      socket.on("message:new", (message) => {
        stats.received += 1;
        member.lastSeq.set(message.conversationId, Math.max(member.lastSeq.get(message.conversationId) ?? 0, message.seq));
        socket.emit("message:delivered", { conversationId: message.conversationId, seq: message.seq }, () => {});
      });
      return member;
    }),
  );

  // A handshake with a bad token, so the handshake outcome series have a refusal too.
  const refused = io(cluster.gateways[0]!.url, { auth: { token: "not-a-jwt" }, transports: ["websocket"], reconnection: false, forceNew: true });
  refused.once("connect_error", () => refused.close());

  const call = async (what: string, run: () => Promise<{ ok: boolean; error?: { code: string } }>) => {
    try {
      const answer = await run();
      if (!answer.ok) fail(`${what}:${answer.error?.code ?? "?"}`);
      return answer.ok;
    } catch {
      fail(`${what}:timeout`);
      return false;
    }
  };

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, task: () => Promise<unknown>) => timers.push(setInterval(() => void task(), ms));
  let turn = 0;
  for (const [i, member] of members.entries()) {
    // Spread the members' sends over the period instead of all at once.
    timers.push(
      setTimeout(() => {
        every(sendEveryMs, async () => {
          const conversationId = member.conversations[turn++ % member.conversations.length]!;
          stats.sent += 1;
          if (await call("message:send", () => ask(member.socket, "message:send", { conversationId, clientMessageId: randomUUID(), body: `hello ${turn}` }))) stats.acked += 1;
        });
      }, (sendEveryMs * i) / members.length),
    );
  }
  every(2_000, async () => {
    const member = members[turn % members.length]!;
    const conversationId = member.conversations[0]!;
    const seq = member.lastSeq.get(conversationId);
    if (seq && (await call("message:read", () => ask(member.socket, "message:read", { conversationId, seq })))) stats.reads += 1;
  });
  every(1_500, async () => {
    const member = members[(turn + 1) % members.length]!;
    const cursors = Object.fromEntries(member.conversations.map((id) => [id, Math.max(0, (member.lastSeq.get(id) ?? 0) - 3)]));
    if (await call("sync", () => ask(member.socket, "sync", { cursors, limit: 50 }))) stats.syncs += 1;
    await call("messages:history", () => ask(member.socket, "messages:history", { conversationId: member.conversations[0]!, limit: 20 }));
  });
  every(2_500, async () => {
    const member = members[(turn + 2) % members.length]!;
    if (await call("typing:start", () => ask(member.socket, "typing:start", { conversationId: member.conversations[0]! }))) stats.typing += 1;
    await call("presence:query", () => ask(member.socket, "presence:query", { userIds }));
  });
  every(3_000, async () => {
    const member = members[(turn + 3) % members.length]!;
    const gateway = cluster.gateways[turn % cluster.gateways.length]!;
    const headers = { authorization: `Bearer ${await cluster.token(member.userId)}` };
    const search = await fetch(`${gateway.url}/v1/search?q=hello`, { headers }).catch(() => undefined);
    if (search?.ok) stats.searches += 1;
    else fail(`search:${search?.status ?? "network"}`);
    await fetch(`${gateway.url}/v1/conversations`, { headers }).catch(() => fail("conversations:network"));
  });

  return {
    stats,
    userIds,
    conversations: [groupA, groupB],
    /** Stops the traffic and closes every socket. */
    stop() {
      for (const timer of timers) clearInterval(timer);
      for (const member of members) member.socket.close();
      refused.close();
    },
  };
}
