import { SOCKET_CAP_REFUSAL_CODE } from "@parley/protocol";
import type { Logger } from "@parley/runtime";

/** A handshake over a cap: `connect_error` with `message: "too many sockets"`, `data.code: "TOO_MANY_SOCKETS"`. */
export class SocketCapError extends Error {
  override readonly name = "SocketCapError";
  readonly code = SOCKET_CAP_REFUSAL_CODE;
  constructor(
    readonly cap: "user" | "ip",
    message: string,
  ) {
    super(message);
  }
}

export interface SocketCapsDeps {
  /** SOCKETS_PER_USER_MAX: a user's sockets across the cluster (0: no cap). */
  maxPerUser: number;
  /** SOCKETS_PER_IP_MAX: one client address's sockets on this pod (0: no cap). */
  maxPerIp: number;
  /** The user's live sockets in the whole cluster (presence's counts in Redis). */
  clusterSockets(userId: string): Promise<number>;
  onRefused(cap: "user" | "ip"): void;
  onAddresses(count: number): void;
  logger: Logger;
}

/**
 * Caps on sockets per user and per client address, checked in the handshake before its
 * database work. A socket counts from its check until its connection closes, whether or not
 * the handshake went on to succeed (an open connection is what costs the pod).
 *
 * Per user: the cluster-wide count presence keeps in Redis, and this pod's own count, which
 * also holds the handshakes still under way (so a burst of handshakes to one pod cannot pass
 * the cap; to several pods at once it can, by at most the handshakes under way elsewhere).
 * The sockets of a pod that died still count until the delivery service sweeps it (within
 * the contract's 30 s): a user with that many devices reconnecting at once waits that long.
 * Per address: this pod only (a user's devices behind one NAT spread over pods anyway; a
 * flood from one address hits each pod's cap). Behind a proxy that hides client addresses
 * every socket has the proxy's address: set SOCKETS_PER_IP_MAX=0 there.
 */
export class SocketCaps {
  private readonly perUser = new Map<string, number>();
  private readonly perIp = new Map<string, number>();

  constructor(private readonly deps: SocketCapsDeps) {}

  /** Counts the socket, or throws SocketCapError. The returned function un-counts it (call it once, when the connection closes). */
  async admit(userId: string, address: string): Promise<() => void> {
    const { maxPerIp, maxPerUser } = this.deps;
    if (maxPerIp > 0 && (this.perIp.get(address) ?? 0) >= maxPerIp) {
      this.deps.onRefused("ip");
      throw new SocketCapError("ip", `at most ${maxPerIp} sockets from one address`);
    }
    if (maxPerUser > 0) {
      const here = this.perUser.get(userId) ?? 0;
      const cluster = here >= maxPerUser ? here : await this.clusterSockets(userId);
      if (Math.max(here, cluster) >= maxPerUser) {
        this.deps.onRefused("user");
        throw new SocketCapError("user", `at most ${maxPerUser} sockets per user`);
      }
    }
    // Counted only now, after the await: the check and the count are one step for this pod.
    if (maxPerIp > 0 && (this.perIp.get(address) ?? 0) >= maxPerIp) {
      this.deps.onRefused("ip");
      throw new SocketCapError("ip", `at most ${maxPerIp} sockets from one address`);
    }
    if (maxPerUser > 0 && (this.perUser.get(userId) ?? 0) >= maxPerUser) {
      this.deps.onRefused("user");
      throw new SocketCapError("user", `at most ${maxPerUser} sockets per user`);
    }
    increment(this.perUser, userId);
    increment(this.perIp, address);
    this.deps.onAddresses(this.perIp.size);
    let counted = true;
    return () => {
      if (!counted) return;
      counted = false;
      decrement(this.perUser, userId);
      decrement(this.perIp, address);
      this.deps.onAddresses(this.perIp.size);
    };
  }

  private async clusterSockets(userId: string): Promise<number> {
    try {
      return await this.deps.clusterSockets(userId);
    } catch (err) {
      // Redis away: the pod's own count still holds; sends fail on their own meanwhile.
      this.deps.logger.warn({ err: String(err) }, "socket cap: the cluster count is out of reach; checking this pod's only");
      return 0;
    }
  }
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
