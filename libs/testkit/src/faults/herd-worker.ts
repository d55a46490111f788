// A share of the reconnect herd (scenario 7), forked by herd.ts so 10,000 sockets spread over
// a few processes (one Node process's event loop would be the bottleneck measured). Each socket
// is a user's connection through the load balancer; on every `session:ready` it calls `sync`
// with its cursors, as the SDK does after a reconnection. Reconnection: Socket.IO's own, with
// jittered backoff. Speaks to its parent over IPC (HerdCommand in, HerdReport out).
import { io, type Socket } from "socket.io-client";
import { signToken } from "../tokens.js";

export type HerdCommand =
  | { type: "connect"; url: string; secret: string; users: { id: string; cursors: Record<string, number> }[] }
  | { type: "mark" }
  | { type: "report" }
  | { type: "close" };

export type HerdReport =
  | { type: "connected"; ready: number; failed: number }
  | {
      type: "report";
      /** Sockets that went down after the mark: ms from the mark until ready again, and until their sync answered. */
      backMs: number[];
      syncedMs: number[];
      syncFailures: number;
      /** Sockets that went down after the mark and are not synced again. */
      stillDown: number;
    };

interface Tracked {
  socket: Socket;
  cursors: Record<string, number>;
  droppedAt?: number;
  readyAt?: number;
  syncedAt?: number;
}

const send = (message: HerdReport) => process.send!(message);
let markAt = 0;
let syncFailures = 0;
const tracked: Tracked[] = [];

function track(url: string, token: string, cursors: Record<string, number>): Promise<boolean> {
  const socket = io(url, {
    auth: { token },
    transports: ["websocket"],
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 250,
    reconnectionDelayMax: 5_000,
    randomizationFactor: 1,
  });
  const t: Tracked = { socket, cursors };
  tracked.push(t);
  socket.on("disconnect", () => {
    if (markAt && t.droppedAt === undefined) t.droppedAt = Date.now();
  });
  return new Promise((resolve) => {
    let first = true;
    socket.on("session:ready", () => {
      if (markAt && t.droppedAt !== undefined) t.readyAt ??= Date.now();
      socket.timeout(30_000).emit("sync", { cursors: t.cursors, limit: 100 }, (err: Error | null, answer: { ok?: boolean }) => {
        if (err || answer?.ok === false) syncFailures += markAt ? 1 : 0;
        else if (markAt && t.droppedAt !== undefined) t.syncedAt ??= Date.now();
        if (first) {
          first = false;
          resolve(!err && answer?.ok !== false);
        }
      });
    });
    socket.once("connect_error", () => {
      if (first) {
        first = false;
        resolve(false);
      }
    });
  });
}

process.on("message", (command: HerdCommand) => {
  void (async () => {
    if (command.type === "connect") {
      let ready = 0;
      let failed = 0;
      // In slices, as people arrive: a burst of thousands at once is the herd being measured, not the setup.
      for (let i = 0; i < command.users.length; i += 100) {
        const slice = command.users.slice(i, i + 100);
        const results = await Promise.all(slice.map(async (u) => track(command.url, await signToken({ sub: u.id, name: u.id, secret: command.secret }), u.cursors)));
        ready += results.filter(Boolean).length;
        failed += results.filter((ok) => !ok).length;
      }
      send({ type: "connected", ready, failed });
    } else if (command.type === "mark") {
      markAt = Date.now();
    } else if (command.type === "report") {
      const dropped = tracked.filter((t) => t.droppedAt !== undefined);
      send({
        type: "report",
        backMs: dropped.filter((t) => t.readyAt !== undefined).map((t) => t.readyAt! - markAt),
        syncedMs: dropped.filter((t) => t.syncedAt !== undefined).map((t) => t.syncedAt! - markAt),
        syncFailures,
        stillDown: dropped.filter((t) => t.syncedAt === undefined).length,
      });
    } else if (command.type === "close") {
      for (const t of tracked) t.socket.disconnect();
      process.exit(0);
    }
  })();
});
