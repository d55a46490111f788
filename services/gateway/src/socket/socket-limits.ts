import type { IncomingMessage } from "node:http";
import type { EventGate } from "./event-gate.js";
import type { SocketCaps } from "./socket-caps.js";
import { watchSendBuffer } from "./slow-consumer.js";
import type { ParleySocket } from "./types.js";

/** The limits attach.ts applies to sockets: caps at the handshake, the event gate, the send buffer's bound. */
export interface SocketLimits {
  caps: SocketCaps;
  gate: EventGate;
  /** Follows a connected socket (its send buffer's bound). */
  watch(socket: ParleySocket): void;
  /** A connection closed because one of its frames passed the transport's limit. */
  oversizedFrame(): void;
  /** FRAME_MAX_BYTES: an event's frames together, at most (the transport refuses one frame past it). */
  frameMaxBytes: number;
  /** The client's address of a handshake (client-address.ts: X-Forwarded-For only from TRUSTED_PROXIES). */
  clientAddress(req: IncomingMessage): string;
}

export function createSocketLimits(deps: {
  caps: SocketCaps;
  gate: EventGate;
  sendBufferMaxBytes: number;
  frameMaxBytes: number;
  clientAddress: (req: IncomingMessage) => string;
  onSlowConsumer: () => void;
  onOversizedFrame: () => void;
}): SocketLimits {
  return {
    caps: deps.caps,
    gate: deps.gate,
    watch: (socket) => watchSendBuffer(socket, deps.sendBufferMaxBytes, deps.onSlowConsumer),
    oversizedFrame: deps.onOversizedFrame,
    frameMaxBytes: deps.frameMaxBytes,
    clientAddress: deps.clientAddress,
  };
}
