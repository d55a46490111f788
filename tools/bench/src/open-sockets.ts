import { io, type Socket } from "socket.io-client";

/** What a load generator needs to open one client's socket. */
export interface SocketClient {
  /** Index into `urls`: which server this client connects to. */
  server: number;
  userId: string;
  /** A JWT for Parley's gateways; the bare ceiling servers take the ids instead. */
  token?: string;
  conversationIds: string[];
}

export interface OpenSocketsOptions<M> {
  urls: string[];
  clients: readonly SocketClient[];
  /** Handshakes in flight at once. */
  concurrency: number;
  onMessage(index: number, message: M): void;
  /** A socket that drops after it was ready (the load generator decides whether that matters). */
  onDisconnect(client: SocketClient, reason: string): void;
}

/**
 * Handshake attempts per socket: a refusal the server calls temporary (UNAVAILABLE, e.g. its
 * database call timed out on a loaded machine) is tried again, as a client would.
 */
const CONNECT_ATTEMPTS = 3;

/**
 * One socket.io-client websocket per client, `concurrency` handshakes at a time, each ready
 * (`session:ready`) before it counts. Never multiplexed (`forceNew`), never reconnected once
 * ready: a dropped socket must show up in the results as what it missed, not be hidden.
 */
export async function openSockets<M>(opts: OpenSocketsOptions<M>): Promise<Socket[]> {
  const sockets = new Array<Socket>(opts.clients.length);
  let next = 0;
  const openOne = async (): Promise<void> => {
    while (next < opts.clients.length) {
      const index = next++;
      for (let attempt = 1; ; attempt++) {
        try {
          sockets[index] = await openSocket(opts, index);
          break;
        } catch (error) {
          if (attempt >= CONNECT_ATTEMPTS || !/unavailable/i.test(String(error))) throw error;
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, openOne));
  return sockets;
}

async function openSocket<M>(opts: OpenSocketsOptions<M>, index: number): Promise<Socket> {
  const client = opts.clients[index]!;
  const socket = io(opts.urls[client.server]!, {
    transports: ["websocket"],
    forceNew: true,
    reconnection: false,
    auth: client.token ? { token: client.token } : { userId: client.userId, conversationIds: client.conversationIds },
  });
  socket.on("message:new", (message: M) => opts.onMessage(index, message));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${client.userId}: no session:ready within 15 s`)), 15_000);
    socket.once("session:ready", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      socket.close();
      reject(new Error(`${client.userId}: connect_error ${error.message}`));
    });
  });
  // Only a socket that was ready can drop.
  socket.on("disconnect", (reason) => opts.onDisconnect(client, reason));
  return socket;
}
