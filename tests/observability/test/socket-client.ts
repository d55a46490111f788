import type { ClientAck, ClientEventName, ClientPayload, ClientToServerEvents, ServerToClientEvents } from "@parley/protocol";
import { io, type Socket } from "socket.io-client";

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connects one socket (no automatic reconnection: the callers decide where to go) and resolves on `session:ready`. */
export function connectSocket(url: string, token: string, timeoutMs = 5_000): Promise<ClientSocket> {
  const socket: ClientSocket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true, timeout: timeoutMs });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no session:ready from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once("session:ready", () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once("connect_error", (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
  });
}

/**
 * Emits a client event and resolves with its ack; rejects when no ack comes in time or the
 * socket drops first (socket.io-client fails pending acks on a disconnect).
 */
export function ask<E extends ClientEventName>(socket: ClientSocket, event: E, payload: ClientPayload<E>, timeoutMs = 5_000): Promise<ClientAck<E>> {
  const timed = socket.timeout(timeoutMs);
  const emit = timed.emit.bind(timed) as unknown as (
    e: string,
    p: unknown,
    cb: (err: Error | null, answer: ClientAck<E>) => void,
  ) => void;
  return new Promise((resolve, reject) => {
    emit(event, payload, (err, answer) => (err ? reject(err) : resolve(answer)));
  });
}
