import { conversationIdsOf, type Database } from "@parley/db";
import { conversationRoom, userRoom } from "@parley/bus";
import { ClientEvents, ParleyError, type ClientEventName } from "@parley/protocol";
import type { Logger } from "@parley/runtime";
import { AuthError, type TokenVerifier } from "../auth/token-verifier.js";
import type { UserRecords } from "../auth/user-records.js";
import type { DbGuard } from "../guard-db.js";
import type { GatewayMetrics } from "../metrics.js";
import { toErrorBody } from "../to-error-body.js";
import type { Handlers, SocketSession } from "./handlers.js";
import type { SocketLifecycleHook } from "./lifecycle.js";
import { SocketCapError } from "./socket-caps.js";
import type { SocketLimits } from "./socket-limits.js";
import type { RoomSync } from "./room-sync.js";
import type { BanService } from "../safety/ban-service.js";
import type { BlockService } from "../safety/block-service.js";
import { countDisconnect, countEvent } from "./socket-metrics.js";
import type { ParleyServer, ParleySocket } from "./types.js";

export interface AttachDeps {
  io: ParleyServer;
  verify: TokenVerifier;
  database: Database;
  handlers: Handlers;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Keeps the users row (display name) current; written only when the name changed. */
  users: UserRecords;
  dbGuard: DbGuard;
  /** The pod's socket hooks (socket/lifecycle.ts), run in this order on connect and on disconnect. */
  hooks: readonly SocketLifecycleHook[];
  /** Caps on sockets, events in flight and per-user limits, the send buffer's bound (socket/socket-limits.ts). */
  limits: SocketLimits;
  /** A banned user's handshake is refused AUTH_BANNED (a cached answer per user). */
  bans: Pick<BanService, "refuseHandshake">;
  /** Whom the user blocks, told in `session:ready` (cached, as typing and presence read it). */
  blocks: Pick<BlockService, "relations">;
  /** Membership changes heard during a handshake, and after it (room-sync.ts). */
  rooms: Pick<RoomSync, "watch" | "settle">;
  /**
   * JWT_CLOCK_TOLERANCE_S: a socket is told `session:expired` this long after its token's `exp`
   * by this pod's clock, as the verifier accepts a token up to this long past it; otherwise a
   * token accepted within the tolerance would be expired at once, and a pod whose clock runs
   * ahead would expire its sockets early.
   */
  clockToleranceS: number;
  /** Tests only: runs once the handshake has read the user's conversations, before it goes on. */
  afterMembershipRead?: ((userId: string) => Promise<void>) | undefined;
}

const EVENT_NAMES = Object.keys(ClientEvents) as ClientEventName[];
/** setTimeout's ceiling; tokens expiring later are re-armed when they get closer. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Authenticates sockets, puts them in their rooms and answers their events.
 *
 * The handshake does the slow work (token, user record, membership list) so that once
 * `connection` fires, the socket is in every room of its conversations and `session:ready`
 * is the first thing it hears. This is the pod's only `connection` listener: whatever else
 * follows sockets is a hook in `deps.hooks`.
 */
export function attachSockets(deps: AttachDeps): void {
  const { io, logger } = deps;
  const frameLimit = deps.limits.frameMaxBytes;

  io.use(async (socket, next) => {
    try {
      const token = await deps.verify((socket.handshake.auth as { token?: unknown } | undefined)?.token);
      // Before the database work (the ban look-up included): a user or address over its cap
      // costs the pod nothing more, and a flood is answered TOO_MANY_SOCKETS, not UNAVAILABLE.
      socket.conn.once("close", await deps.limits.caps.admit(token.userId, deps.limits.clientAddress(socket.request)));
      await deps.bans.refuseHandshake(token.userId);
      await deps.users.record(token.userId, token.name);
      // Watch first, then read: a change committed after the read is heard by the watch.
      const watch = deps.rooms.watch(token.userId);
      socket.conn.once("close", () => watch.end());
      try {
        const conversationIds = await deps.dbGuard.run(() => conversationIdsOf(deps.database.sql, token.userId));
        await deps.afterMembershipRead?.(token.userId);
        const blockedUserIds = [...(await deps.blocks.relations(token.userId)).blocks];
        socket.data = { userId: token.userId, name: token.name, exp: token.exp, role: token.role, conversationIds, watch, blockedUserIds };
      } catch (err) {
        watch.end();
        throw err;
      }
      next();
    } catch (err) {
      const known = err instanceof AuthError || err instanceof ParleyError || err instanceof SocketCapError;
      const code = known ? err.code : "INTERNAL";
      deps.metrics.handshakes.inc({ outcome: code });
      if (!known) logger.error({ err }, "handshake failed");
      const refusal = new Error(
        err instanceof AuthError ? "unauthorized" : err instanceof SocketCapError ? "too many sockets" : code === "UNAVAILABLE" ? "unavailable" : "internal",
      ) as Error & { data: { code: string; message?: string } };
      // Our own errors explain themselves; anything else stays in the log, not on the wire.
      refusal.data = { code, message: known ? err.message : "internal error" };
      next(refusal);
    }
  });

  io.on("connection", (socket: ParleySocket) => {
    deps.metrics.handshakes.inc({ outcome: "accepted" });
    deps.metrics.sockets.inc();
    const data = socket.data;
    // A conversation whose membership changed during the handshake joins only once re-checked.
    const changed = data.watch?.heard;
    const joined = changed && changed.size > 0 ? data.conversationIds.filter((id) => !changed.has(id)) : data.conversationIds;
    socket.join([userRoom(data.userId), ...joined.map(conversationRoom)]);
    data.conversationIds = [];
    deps.limits.watch(socket);
    const inFlight = deps.limits.gate.forSocket();
    if (data.watch) deps.rooms.settle(socket, data.watch);
    data.watch = undefined;

    let expiry: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(expiry);
      const ms = (data.exp + deps.clockToleranceS) * 1000 - Date.now();
      expiry = setTimeout(
        () => {
          if ((data.exp + deps.clockToleranceS) * 1000 > Date.now()) return arm();
          socket.emit("session:expired", {});
          socket.disconnect(true);
        },
        Math.max(0, Math.min(ms, MAX_TIMER_MS)),
      );
    };
    arm();
    const session: SocketSession = {
      get userId() {
        return data.userId;
      },
      get name() {
        return data.name;
      },
      get exp() {
        return data.exp;
      },
      get role() {
        return data.role;
      },
      get socketId() {
        return socket.id;
      },
      extend(exp) {
        data.exp = exp;
        arm();
      },
    };

    // Engine.IO hands us each raw frame just before Socket.IO decodes and dispatches it,
    // synchronously: the size seen here belongs to the event the middleware below checks.
    // An event carrying Buffers arrives as a text header and then one binary frame per
    // Buffer, dispatched on the last one: binary frames add to the header's size, or an
    // event could pass any size under the 1 MiB transport cap in small pieces.
    let eventBytes = 0;
    socket.conn.on("packet", (packet: { type?: string; data?: unknown }) => {
      if (packet.type !== "message") return;
      const d = packet.data;
      if (typeof d === "string") eventBytes = Buffer.byteLength(d);
      else if (d instanceof ArrayBuffer || ArrayBuffer.isView(d)) eventBytes += d.byteLength;
    });
    socket.use((packet, next) => {
      if (eventBytes <= frameLimit) return next();
      const ack = packet[packet.length - 1];
      deps.metrics.events.inc({ event: "oversized", outcome: "PAYLOAD_TOO_LARGE" });
      if (typeof ack === "function") {
        (ack as (a: unknown) => void)({
          ok: false,
          error: { code: "PAYLOAD_TOO_LARGE", message: `frames are limited to ${frameLimit} bytes` },
        });
      }
    });

    for (const event of EVENT_NAMES) {
      const schema = ClientEvents[event].payload;
      const handler = deps.handlers[event] as (s: SocketSession, p: unknown) => Promise<object>;
      socket.on(event, ((...args: unknown[]) => {
        const ack = args[args.length - 1];
        if (typeof ack !== "function") {
          logger.debug({ event, socket: socket.id }, "event without an ack callback dropped");
          return;
        }
        const answer = ack as (a: unknown) => void;
        // Over the socket's cap: refused before anything is parsed or counted.
        if (!inFlight.begin()) {
          countEvent(deps.metrics, event, "RATE_LIMITED");
          answer({ ok: false, error: deps.limits.gate.overCap.toBody() });
          return;
        }
        const parsed = schema.safeParse(args.length > 1 ? args[0] : undefined);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          inFlight.end();
          countEvent(deps.metrics, event, "VALIDATION");
          answer({
            ok: false,
            error: { code: "VALIDATION", message: `${issue?.path.join(".") || "payload"}: ${issue?.message ?? "invalid"}` },
          });
          return;
        }
        // The user's limit of the event's class first (none here for sends and changes: their services count them).
        const limited = deps.limits.gate.limit(event, data.userId);
        (limited ? limited.then(() => handler(session, parsed.data)) : handler(session, parsed.data)).then(
          (result) => {
            inFlight.end();
            countEvent(deps.metrics, event, "ok");
            answer({ ok: true, ...result });
          },
          (err: unknown) => {
            inFlight.end();
            const error = toErrorBody(err, logger, { event, socket: socket.id, user: data.userId });
            countEvent(deps.metrics, event, error.code);
            answer({ ok: false, error });
          },
        );
      }) as never);
    }

    socket.on("disconnect", (reason, description) => {
      clearTimeout(expiry);
      // ws refused a frame over the transport's maxPayload (FRAME_MAX_BYTES) unread and closed the connection.
      if (reason === "transport error" && /max payload/i.test(String((description as { message?: unknown } | undefined)?.message))) {
        deps.limits.oversizedFrame();
      }
      deps.metrics.sockets.dec();
      countDisconnect(deps.metrics, reason);
      for (const hook of deps.hooks) hook.disconnected?.(socket, reason);
    });
    for (const hook of deps.hooks) hook.connected?.(socket);
    socket.emit("session:ready", { userId: data.userId, serverTime: new Date().toISOString(), blockedUserIds: data.blockedUserIds });
    data.blockedUserIds = [];
  });
}
