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
  | { type: "connected"; ready: number; failed: number; reasons: Record<string, number> }
  | {
      type: "report";
      /** Sockets that went down after the mark: ms from the mark until ready again, and until their sync answered. */
      backMs: number[];
      syncedMs: number[];
      syncFailures: number;
      /** Transient refusals retried with backoff (handshakes and syncs), over the whole run. */
      connectRetries: number;
      syncRetries: number;
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
let syncRetries = 0;
let connectRetries = 0;
/** Why first connections failed, counted (an error code, a message, or a sync refusal's code). */
const reasons: Record<string, number> = {};
const because = (why: string) => (reasons[why] = (reasons[why] ?? 0) + 1);
const tracked: Tracked[] = [];

/** Full-jitter backoff as the SDK's: random(0, min(5 s, 250 ms · 2^attempt)). */
const backoff = (attempt: number) => Math.random() * Math.min(5_000, 250 * 2 ** attempt);
/** Refusals a client retries (the SDK's transient codes): an overloaded pod sheds a herd with these. */
const TRANSIENT = new Set(["UNAVAILABLE", "RATE_LIMITED"]);

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
    let connectAttempt = 0;
    const settle = (ok: boolean, why?: string) => {
      if (!first) return;
      first = false;
      if (why) because(why);
      resolve(ok);
    };
    const sync = (attempt: number) => {
      socket.timeout(30_000).emit("sync", { cursors: t.cursors, limit: 100 }, (err: Error | null, answer: { ok?: boolean; error?: { code?: string } }) => {
        const code = err ? "timeout" : answer?.ok === false ? (answer.error?.code ?? "?") : undefined;
        if (code && TRANSIENT.has(code) && attempt < 20) {
          syncRetries++;
          setTimeout(() => sync(attempt + 1), backoff(attempt));
          return;
        }
        if (code) {
          if (markAt) syncFailures++;
          settle(false, `sync: ${code}`);
          return;
        }
        if (markAt && t.droppedAt !== undefined) t.syncedAt ??= Date.now();
        settle(true);
      });
    };
    socket.on("session:ready", () => {
      connectAttempt = 0;
      if (markAt && t.droppedAt !== undefined) t.readyAt ??= Date.now();
      sync(0);
    });
    // A refusal by the server's handshake is not retried by Socket.IO itself: the SDK retries a
    // transient one with backoff, and so does this.
    socket.on("connect_error", (err: Error & { data?: { code?: string } }) => {
      const code = err.data?.code;
      if (code !== undefined && !TRANSIENT.has(code)) return settle(false, `connect: ${code}`);
      connectRetries++;
      if (code !== undefined) setTimeout(() => socket.connect(), backoff(connectAttempt++));
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
      send({ type: "connected", ready, failed, reasons });
    } else if (command.type === "mark") {
      markAt = Date.now();
    } else if (command.type === "report") {
      const dropped = tracked.filter((t) => t.droppedAt !== undefined);
      send({
        type: "report",
        backMs: dropped.filter((t) => t.readyAt !== undefined).map((t) => t.readyAt! - markAt),
        syncedMs: dropped.filter((t) => t.syncedAt !== undefined).map((t) => t.syncedAt! - markAt),
        syncFailures,
        connectRetries,
        syncRetries,
        stillDown: dropped.filter((t) => t.syncedAt === undefined).length,
      });
    } else if (command.type === "close") {
      for (const t of tracked) t.socket.disconnect();
      process.exit(0);
    }
  })();
});
