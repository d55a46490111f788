// The stack's ceiling: Socket.IO with the same sharded Redis adapter as the gateway, and
// nothing else: no auth, no validation, no rate limit, no queue, no Postgres. On
// `message:send` it acks at once and broadcasts `message:new` to the conversation room,
// which is the least any chat server on this stack must do per message. Two of these run
// side by side against one Redis, like the two gateways.
// Configured by PORT and REDIS_URL (this is a bench fixture, not a service).
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { createShardedAdapter } from "@socket.io/redis-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const port = Number(process.env.PORT ?? "0");
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const pub = new Redis(redisUrl);
const sub = pub.duplicate();
const http = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
});
const io = new Server(http, {
  transports: ["websocket"],
  adapter: createShardedAdapter(pub, sub, { subscriptionMode: "dynamic" }),
});

interface SendPayload {
  conversationId: string;
  clientMessageId: string;
  body: string;
}

const seqs = new Map<string, number>();

io.on("connection", (socket) => {
  const auth = socket.handshake.auth as { userId?: string; conversationIds?: string[] };
  const userId = String(auth.userId ?? socket.id);
  const conversationIds = Array.isArray(auth.conversationIds) ? auth.conversationIds.map(String) : [];
  void socket.join([`user:${userId}`, ...conversationIds.map((id) => `conv:${id}`)]);
  socket.emit("session:ready", { userId, serverTime: new Date().toISOString() });
  socket.on("message:send", (payload: SendPayload, ack?: (answer: unknown) => void) => {
    const seq = (seqs.get(payload.conversationId) ?? 0) + 1; // per process only: a placeholder, not an order
    seqs.set(payload.conversationId, seq);
    const message = {
      id: randomUUID(),
      conversationId: payload.conversationId,
      seq,
      senderId: userId,
      senderName: userId,
      clientMessageId: payload.clientMessageId,
      kind: "text",
      body: payload.body,
      createdAt: new Date().toISOString(),
    };
    if (typeof ack === "function") ack({ ok: true, message, duplicate: false });
    io.to(`conv:${payload.conversationId}`).emit("message:new", message);
  });
});

http.listen(port, "127.0.0.1", () => {
  process.send?.({ type: "listening", port });
});

const stop = () => {
  void io.close();
  pub.disconnect();
  sub.disconnect();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
