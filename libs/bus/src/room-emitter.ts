import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { ServerEventName, ServerPayload } from "@parley/protocol";

/** socket.io-adapter's message and packet type numbers for a plain broadcast. */
const BROADCAST = 3;
const EVENT_PACKET = 2;
/** socket.io-adapter's ClusterAdapter DISCONNECT_SOCKETS message. */
const DISCONNECT_SOCKETS = 6;

/**
 * Emits Socket.IO events to rooms from processes that are not Socket.IO servers (the workers).
 *
 * The gateways run the sharded Redis adapter in "dynamic" mode: a pod subscribes to a room's
 * channel only while it has a socket in that room, so traffic reaches only interested pods.
 * `@socket.io/redis-emitter` publishes on classic pub/sub and would reach no one; this writes
 * the adapter's own broadcast message to the room's sharded channel instead. The format is
 * socket.io-adapter's ClusterAdapter BROADCAST (JSON-encoded: no binary payloads here).
 */
export class RoomEmitter {
  private readonly uid = `parley-${randomBytes(8).toString("hex")}`;

  constructor(
    private readonly redis: Redis,
    private readonly channelPrefix = "socket.io",
    private readonly namespace = "/",
  ) {}

  channelOf(room: string): string {
    return `${this.channelPrefix}#${this.namespace}#${room}#`;
  }

  /** The adapter's broadcast of `event` to one room, for `spublish` on `channelOf(room)`. */
  encode<E extends ServerEventName>(room: string, event: E, payload: ServerPayload<E>): string {
    return this.broadcast([room], event, payload, []);
  }

  /**
   * One broadcast to several rooms, except sockets in `except`: each socket hears it once,
   * however many of the rooms it is in. Like the adapter itself, a broadcast to more than
   * one room goes on the namespace's main channel (every pod subscribes to it); a single
   * room keeps its interest-routed channel.
   */
  emitToRooms<E extends ServerEventName>(rooms: readonly string[], event: E, payload: ServerPayload<E>, except: readonly string[] = []): Promise<unknown> {
    const channel = rooms.length === 1 ? this.channelOf(rooms[0]!) : `${this.channelPrefix}#${this.namespace}#`;
    return this.redis.spublish(channel, this.broadcast(rooms, event, payload, except));
  }

  /**
   * Disconnects every socket in these rooms on every pod (the adapter's own
   * `io.in(rooms).disconnectSockets(true)`): on the namespace's main channel, which every pod
   * hears, as the adapter publishes it.
   */
  disconnectRooms(rooms: readonly string[]): Promise<unknown> {
    return this.redis.spublish(
      `${this.channelPrefix}#${this.namespace}#`,
      JSON.stringify({
        uid: this.uid,
        nsp: this.namespace,
        type: DISCONNECT_SOCKETS,
        data: { opts: { rooms: [...rooms], except: [], flags: {} }, close: true },
      }),
    );
  }

  private broadcast<E extends ServerEventName>(rooms: readonly string[], event: E, payload: ServerPayload<E>, except: readonly string[]): string {
    return JSON.stringify({
      uid: this.uid,
      nsp: this.namespace,
      type: BROADCAST,
      data: {
        packet: { type: EVENT_PACKET, data: [event, payload], nsp: this.namespace },
        opts: { rooms: [...rooms], except: [...except], flags: {} },
      },
    });
  }
}
