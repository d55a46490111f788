import { createClient, type ParleyClient } from "@parley/client";
import type { Cluster } from "./cluster.js";

/** The cuttable TCP proxy lives in the test kit (the fault suite uses it in front of Redis too). */
export { startCutProxy } from "@parley/testkit";

/** A client of the SDK for `user` on the cluster, with quick backoff so tests do not wait long. */
export function clientFor(
  cluster: Cluster,
  user: string,
  name: string,
  options: Partial<Parameters<typeof createClient>[0]> = {},
): ParleyClient {
  return createClient({
    url: cluster.url(0),
    getToken: () => cluster.token(user, name),
    reconnect: { baseMs: 100, maxMs: 1_000 },
    retry: { baseMs: 100, maxMs: 1_000 },
    receiptDelayMs: 50,
    ...options,
  });
}

/** Resolves once `check()` is true (polled), or rejects with `what` after `timeoutMs`. */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function onlineState(client: ParleyClient) {
  return until(() => client.state === "online", "the client to be online");
}
