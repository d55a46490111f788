import { createServer, connect, type Server, type Socket } from "node:net";
import { createClient, type ParleyClient } from "@parley/client";
import type { Cluster } from "./cluster.js";

/**
 * A TCP proxy in front of a gateway that the test can cut, like a network that goes away:
 * `cut()` resets every open connection and refuses new ones until `restore()`. The gateway
 * itself never notices anything but sockets that stop talking.
 */
export async function startCutProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const open = new Set<Socket>();
  let down = false;
  const server: Server = createServer((inbound) => {
    if (down) return void inbound.destroy();
    const outbound = connect(Number(target.port), target.hostname);
    open.add(inbound).add(outbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      open.delete(inbound);
      open.delete(outbound);
    };
    inbound.on("error", drop).on("close", drop);
    outbound.on("error", drop).on("close", drop);
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    cut() {
      down = true;
      for (const s of open) s.resetAndDestroy();
      open.clear();
    },
    restore() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}

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
