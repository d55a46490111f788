import type { IncomingMessage } from "node:http";
import proxyaddr from "@fastify/proxy-addr";

/**
 * The client's address for a request or a socket's handshake request, as Fastify's
 * `trustProxy` computes it (the same library): the connection's own address, or, when that is
 * a trusted proxy (TRUSTED_PROXIES), the nearest address in X-Forwarded-For that is not one.
 * With no trusted proxy, X-Forwarded-For is ignored: any client could write one, and a cap per
 * address (SOCKETS_PER_IP_MAX) would count whatever it claims.
 */
export function clientAddressResolver(trustedProxies: readonly string[]): (req: IncomingMessage) => string {
  if (trustedProxies.length === 0) return (req) => req.socket.remoteAddress ?? "unknown";
  const trust = proxyaddr.compile([...trustedProxies]);
  return (req) => proxyaddr(req, trust);
}
