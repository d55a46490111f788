import type { ParleySocket } from "./types.js";

/** The parts of engine.io's socket this reads (engine.io 6: `packetCreate` before a packet is queued, `flush` when the queue goes to the transport). */
interface EngineConnection {
  writeBuffer: { data?: unknown }[];
  transport: { name: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  on(event: "packetCreate", listener: (packet: { data?: unknown }) => void): void;
  on(event: "flush", listener: () => void): void;
  close(discard?: boolean): void;
}

const sizeOf = (data: unknown): number =>
  typeof data === "string" ? data.length : data instanceof ArrayBuffer || ArrayBuffer.isView(data) ? data.byteLength : 0;

/**
 * Closes a socket whose client does not read. Engine.IO queues what the socket is sent while
 * the transport is busy (a WebSocket write whose bytes the client has not taken yet), without
 * a bound; this counts what waits (the queue, plus what the WebSocket still buffers) each time
 * a packet is queued, and once it passes `maxBytes` drops the connection at once (a polite
 * close would wait for the queue to drain, which never happens). The client reconnects and
 * catches up with `sync`.
 */
export function watchSendBuffer(socket: ParleySocket, maxBytes: number, onCut: () => void): void {
  const conn = socket.conn as unknown as EngineConnection;
  let queued = 0;
  let cut = false;
  conn.on("flush", () => {
    queued = 0;
  });
  conn.on("packetCreate", (packet) => {
    queued += sizeOf(packet.data);
    if (cut || queued + (conn.transport.socket?.bufferedAmount ?? 0) <= maxBytes) return;
    cut = true;
    onCut();
    const ws = conn.transport.socket;
    if (conn.transport.name === "websocket" && typeof ws?.terminate === "function") ws.terminate();
    else conn.close(true);
  });
}
