import type { Server, Socket } from "socket.io";
import type { ClientToServerEvents, Role, ServerToClientEvents } from "@parley/protocol";
import type { HandshakeWatch } from "./room-sync.js";

/**
 * The typed Socket.IO server and socket, in a module of types only: the services that emit
 * to rooms need the server's type, and `attach.ts` needs the services (through the
 * handlers), so the types cannot live in `attach.ts` without an import circle.
 */

/** What the handshake leaves on `socket.data` (socket/attach.ts). */
export interface SocketData {
  userId: string;
  name: string;
  exp: number;
  /** The token's `parley_role` (auth/roles.ts); refreshed tokens must keep it. */
  role: Role;
  /** The rooms to join on `connection`; emptied once joined. */
  conversationIds: string[];
  /** Whom the user blocks, read in the handshake for `session:ready`; emptied once told. */
  blockedUserIds: string[];
  /** Membership changes heard since the handshake began reading (room-sync.ts); ended on `connection`. */
  watch: HandshakeWatch | undefined;
}

export type ParleyServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
export type ParleySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
