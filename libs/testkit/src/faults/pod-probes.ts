import { io, type Socket } from "socket.io-client";

/**
 * One sample of a pod's `/metrics` (a gateway's port, a worker's METRICS_PORT): the value of
 * the first series of `name` whose labels contain `labels` (e.g. `reason="transient"`), 0 when
 * there is none.
 */
export async function podMetric(url: string, name: string, labels = ""): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && l.includes(labels));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** A bare Socket.IO socket straight to one gateway (no load balancer, no reconnection), resolved at `session:ready`. */
export function connectSocket(url: string, token: string): Promise<Socket> {
  const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false, forceNew: true });
  return new Promise((resolve, reject) => {
    socket.once("session:ready", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}
