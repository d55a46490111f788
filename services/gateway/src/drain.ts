import { setTimeout as sleep } from "node:timers/promises";
import type { Namespace } from "socket.io";

/** What closing the sockets leaves of the grace period for closing Redis, Postgres and the server. */
const CLOSE_RESERVE_MS = 3_000;

export interface DrainSteps {
  /** Makes /readyz answer 503 and the handshake refuse new sockets. */
  stopAccepting(): void;
  /** This pod's sockets, closed after the delay. */
  namespace: Pick<Namespace, "sockets">;
  /** Closes the server and its connections once the sockets are gone. */
  close(): Promise<void>;
}

/**
 * The contract's drain: not ready and refusing new sockets for `delayMs` first, whatever the
 * number of sockets, so a load balancer polling /readyz sees the 503 before the port closes;
 * then the sockets, in batches over what the grace period leaves; then the rest, all within
 * `graceMs`.
 */
export async function runDrain(steps: DrainSteps, timing: { graceMs: number; delayMs: number }): Promise<void> {
  steps.stopAccepting();
  if (timing.delayMs > 0) await sleep(timing.delayMs);
  await drainSockets(steps.namespace, Math.max(0, timing.graceMs - timing.delayMs - CLOSE_RESERVE_MS));
  await steps.close();
}

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
