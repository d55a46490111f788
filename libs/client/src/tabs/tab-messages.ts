import type { ClientEventName, ErrorBody, Message, ServerEventName, ServerPayload } from "@parley/protocol";
import type { OutboxRecord } from "../outbox-storage.js";
import type { ConnectionStateChange, OutgoingMessage } from "../types.js";

/** What the socket holder tells the other tabs about the connection. */
export interface ConnectionSnapshot {
  /** The holder's latest state change (its state, why, and when it retries). */
  change: ConnectionStateChange;
  url: string;
  offlineSince: number | undefined;
  /** Set while online: the holder's `session:ready` (the user, and their blocks). */
  ready: ServerPayload<"session:ready"> | undefined;
}

/** An OutgoingMessage as it crosses to another tab (its `settled` promise stays behind). */
export type OutgoingSnapshot = Omit<OutgoingMessage, "settled">;

/**
 * The messages the tabs of one user exchange on their BroadcastChannel. Every tab of the app
 * runs this same code from the same origin (a channel never crosses origins), so they are
 * typed rather than validated; a tab ignores a `type` it does not know (an older tab during a
 * deploy).
 */
export type TabMessage =
  // Connection: the holder's state, its server events, and requests the other tabs forward.
  | { type: "hello"; from: string }
  | { type: "state"; leader: string; snapshot: ConnectionSnapshot }
  | { type: "event"; leader: string; event: ServerEventName; payload: unknown }
  | { type: "request"; from: string; id: number; event: ClientEventName; payload: unknown; timeoutMs: number }
  | { type: "reply"; to: string; id: number; answer: { ok: true } | { ok: false; error: ErrorBody } }
  | { type: "reconnect"; from: string }
  | { type: "leaving"; leader: string }
  // Outbox: a record another tab stored, what happened to a message, a discard, a retry.
  | { type: "outbox:put"; from: string; record: OutboxRecord }
  | { type: "outbox:change"; leader: string; outgoing: OutgoingSnapshot; stored?: Message }
  | { type: "outbox:discard"; from: string; clientMessageId: string }
  | { type: "outbox:retry"; from: string; clientMessageId: string };

/** The channel the tabs share (BroadcastChannel in browsers; tests pass an in-memory one). */
export interface TabChannel {
  post(message: TabMessage): void;
  listen(fn: (message: TabMessage) => void): () => void;
  close(): void;
}

export function broadcastChannel(name: string): TabChannel {
  const channel = new BroadcastChannel(name);
  return {
    post: (message) => channel.postMessage(message),
    listen: (fn) => {
      const handler = (e: MessageEvent) => fn(e.data as TabMessage);
      channel.addEventListener("message", handler);
      return () => channel.removeEventListener("message", handler);
    },
    close: () => channel.close(),
  };
}
