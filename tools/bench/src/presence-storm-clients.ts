// The presence storm's sockets, in a process of their own (forked by presence-storm.ts) so
// their CPU is not the servers'. Driven by IPC commands; answers each with one report.
import { io, type Socket } from "socket.io-client";

export interface StormUser {
  userId: string;
  token: string;
  /** Index into the gateway URLs. */
  server: number;
}

export type StormCommand =
  | { type: "connect"; urls: string[]; users: StormUser[]; concurrency: number }
  | { type: "flap"; concurrency: number }
  | { type: "disconnect" }
  | { type: "close" };

export type StormReport =
  | { type: "done"; command: StormCommand["type"]; ms: number; sockets: number; failed: number }
  | { type: "presence"; online: number; offline: number }
  | { type: "error"; message: string };

const sockets = new Map<string, Socket>();
let urls: string[] = [];
let users: StormUser[] = [];
const received = { online: 0, offline: 0 };
const send = (report: StormReport) => process.send?.(report);

function open(user: StormUser): Promise<Socket> {
  const socket = io(urls[user.server]!, { auth: { token: user.token }, transports: ["websocket"], reconnection: false, forceNew: true });
  socket.on("presence", (p: { status: "online" | "offline" }) => {
    received[p.status]++;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no session:ready within 20 s")), 20_000);
    socket.once("session:ready", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (err) => {
      clearTimeout(timer);
      socket.close();
      reject(err);
    });
  });
}

/** Runs `work` over `items` with at most `concurrency` in flight; returns the failures. */
async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await work(item).catch(() => failed++);
      }
    }),
  );
  return failed;
}

async function handle(command: StormCommand): Promise<void> {
  const started = Date.now();
  if (command.type === "connect") {
    urls = command.urls;
    users = command.users;
    const failed = await pool(users, command.concurrency, async (user) => {
      sockets.set(user.userId, await open(user));
    });
    send({ type: "done", command: "connect", ms: Date.now() - started, sockets: sockets.size, failed });
  } else if (command.type === "flap") {
    // A flaky network: every socket drops and its client reconnects at once (same pod).
    const failed = await pool(users, command.concurrency, async (user) => {
      sockets.get(user.userId)?.disconnect();
      sockets.set(user.userId, await open(user));
    });
    send({ type: "done", command: "flap", ms: Date.now() - started, sockets: sockets.size, failed });
  } else if (command.type === "disconnect") {
    // In slices of 250 per event-loop turn: a storm, but the process keeps answering.
    const all = [...sockets.values()];
    sockets.clear();
    for (let i = 0; i < all.length; i += 250) {
      for (const s of all.slice(i, i + 250)) s.disconnect();
      await new Promise((r) => setImmediate(r));
    }
    send({ type: "done", command: "disconnect", ms: Date.now() - started, sockets: 0, failed: 0 });
  } else if (command.type === "close") {
    for (const s of sockets.values()) s.disconnect();
    process.exit(0);
  }
}

process.on("message", (message: StormCommand | { type: "stats" }) => {
  if (message.type === "stats") return send({ type: "presence", ...received });
  handle(message).catch((err: unknown) => send({ type: "error", message: err instanceof Error ? err.message : String(err) }));
});
