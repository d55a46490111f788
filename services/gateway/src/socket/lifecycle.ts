import type { DisconnectReason } from "socket.io";
import type { ParleySocket } from "./types.js";

/**
 * Something that follows sockets coming and going on this pod (presence counts, the rate
 * limiter's reservations). The pod's hooks are one list, built in app.ts and handed to
 * `attachSockets`, whose one `connection` listener runs them: connect hooks in list order once
 * the socket is authenticated, in its rooms and answering events (just before `session:ready`);
 * disconnect hooks in the same order once the socket's own bookkeeping is done.
 */
export interface SocketLifecycleHook {
  connected?(socket: ParleySocket): void;
  disconnected?(socket: ParleySocket, reason: DisconnectReason): void;
}
