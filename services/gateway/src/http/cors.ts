import cors from "@fastify/cors";
import type { FastifyInstance } from "fastify";

/**
 * CORS for the HTTP API, with the same origins as the Socket.IO handshake (CORS_ORIGINS):
 * a browser app on another origin (the web chat, an app's web build) creates conversations
 * and sends over HTTP, and must be able to read the answers. Requests without `Origin`
 * (mobile apps, servers) are untouched; a refused origin simply gets no CORS headers.
 */
export async function registerCors(app: FastifyInstance, allowOrigin: (origin: string | undefined) => boolean): Promise<void> {
  await app.register(cors, {
    origin: (origin, cb) => cb(null, allowOrigin(origin)),
    // Every method the routes use: PUT is blocks, mutes and bans (v1.1); without it a
    // browser's preflight fails and the call never reaches the route.
    methods: ["GET", "POST", "PUT", "PATCH", "DELETE"],
    allowedHeaders: ["authorization", "content-type"],
    // A client backing off after 429 needs to read it.
    exposedHeaders: ["retry-after"],
    // Preflights are cached by the browser for this long (seconds).
    maxAge: 600,
  });
}
