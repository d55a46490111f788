import type { Namespace } from "socket.io";

/**
 * Closes this pod's sockets (`io.local`: never the whole cluster's) in batches spread over
 * `windowMs` with jitter, so reconnecting clients arrive at the other pods as a trickle, not
 * a thundering herd.
 */
export async function drainSockets(namespace: Pick<Namespace, "sockets">, windowMs: number, batches = 10): Promise<void> {
  const sockets = [...namespace.sockets.values()];
  if (sockets.length === 0) return;
  const perBatch = Math.ceil(sockets.length / batches);
  const step = windowMs / batches;
  const deadline = Date.now() + windowMs;
  for (let i = 0; i < sockets.length; i += perBatch) {
    // The transport is closed rather than `socket.disconnect(true)`: a server-side disconnect
    // tells Socket.IO clients not to reconnect ("io server disconnect"), so a stock client would
    // stay offline after a rollout; a closed transport ("transport close") makes every client
    // reconnect by itself, through the load balancer to a pod that is ready.
    for (const socket of sockets.slice(i, i + perBatch)) socket.conn.close();
    if (i + perBatch < sockets.length) {
      // Jittered, but never past the window: the rest of the grace period is for closing.
      const pause = Math.min(step * (0.5 + Math.random()), deadline - Date.now());
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  }
}
