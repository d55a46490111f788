import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";

/**
 * A WebSocket client written on a bare TCP socket, for what a well-behaved library will not
 * do: announce frames of any size, or stop reading while the server keeps writing. It speaks
 * just enough Engine.IO/Socket.IO v4 text to authenticate and emit events.
 */
export interface RawWebSocket {
  /** Text messages received so far (Engine.IO packets, e.g. `42["session:ready",…]`). */
  messages: string[];
  /** The close frame's code once the server closed, or -1 when the TCP connection just ended. */
  closed: Promise<number>;
  send(text: string): void;
  /** Writes only the header of a masked text frame announcing `length` bytes (and none of them). */
  announce(length: number): void;
  /** Stops reading: the kernel's buffers fill, then the server's writes stall. */
  stopReading(): void;
  /** Resolves with the first message that satisfies `match`. */
  next(match: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  destroy(): void;
}

function header(opcode: number, length: number): Buffer {
  const head = length < 126 ? Buffer.alloc(2) : length < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  head[0] = 0x80 | opcode;
  if (length < 126) head[1] = 0x80 | length;
  else if (length < 65_536) {
    head[1] = 0x80 | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  return head;
}

export async function openRawWebSocket(baseUrl: string, path = "/socket.io/?EIO=4&transport=websocket"): Promise<RawWebSocket> {
  const { hostname, port } = new URL(baseUrl);
  const socket: Socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const messages: string[] = [];
  const waiters: { match: (t: string) => boolean; resolve: (t: string) => void }[] = [];
  let buffered = Buffer.alloc(0);
  let upgraded = false;
  let closeCode = -1;
  let resolveClosed!: (code: number) => void;
  const closed = new Promise<number>((r) => (resolveClosed = r));
  socket.on("close", () => resolveClosed(closeCode));
  socket.on("error", () => {});

  const send = (text: string) => {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
    socket.write(Buffer.concat([header(0x1, payload.length), mask, payload]));
  };
  const received = (text: string) => {
    // Engine.IO heartbeat: the server pings ("2"), the client answers ("3").
    if (text === "2") return send("3");
    messages.push(text);
    for (const w of [...waiters]) {
      if (w.match(text)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(text);
      }
    }
  };

  await new Promise<void>((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf("\r\n\r\n");
        if (end < 0) return;
        const status = buffered.subarray(0, end).toString();
        if (!status.startsWith("HTTP/1.1 101")) return reject(new Error(`no upgrade: ${status.split("\r\n")[0]}`));
        upgraded = true;
        buffered = buffered.subarray(end + 4);
        resolve();
      }
      // Server frames are unmasked; Engine.IO does not fragment them.
      for (;;) {
        if (buffered.length < 2) return;
        const opcode = buffered[0]! & 0x0f;
        let length = buffered[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffered.length < 4) return;
          length = buffered.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffered.length < 10) return;
          length = Number(buffered.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffered.length < offset + length) return;
        const payload = buffered.subarray(offset, offset + length);
        buffered = buffered.subarray(offset + length);
        if (opcode === 0x8) closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        else if (opcode === 0x1) received(payload.toString());
      }
    });
  });

  return {
    messages,
    closed,
    send,
    announce(length) {
      socket.write(Buffer.concat([header(0x1, length), randomBytes(4)]));
    },
    stopReading() {
      socket.pause();
    },
    next(match, timeoutMs = 5_000) {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no matching message in time")), timeoutMs);
        waiters.push({
          match,
          resolve: (t) => {
            clearTimeout(timer);
            resolve(t);
          },
        });
      });
    },
    destroy() {
      socket.destroy();
    },
  };
}

/** A raw Socket.IO session: connected with `token` and past `session:ready`. */
export async function openRawSession(baseUrl: string, token: string): Promise<RawWebSocket> {
  const ws = await openRawWebSocket(baseUrl);
  await ws.next((t) => t.startsWith("0{"));
  ws.send(`40${JSON.stringify({ token })}`);
  await ws.next((t) => t.startsWith('42["session:ready"'));
  return ws;
}
