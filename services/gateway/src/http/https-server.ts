import type { Server as HttpServer } from "node:http";
import { createServer } from "node:https";
import type { FastifyServerFactory } from "fastify";

/**
 * Fastify's server as HTTPS. Fastify's own `https` option would change the instance's type
 * parameters (FastifyInstance<https.Server>) everywhere it is passed; an https.Server serves
 * the same request events, so the factory hands it over as the plain server type the rest of
 * the gateway (routes, Socket.IO's attach) is written against.
 */
export function httpsServerFactory(tls: { cert: Buffer; key: Buffer }): FastifyServerFactory {
  return (handler) => createServer({ cert: tls.cert, key: tls.key }, handler) as unknown as HttpServer;
}
