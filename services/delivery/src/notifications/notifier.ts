import type { MessageKind } from "@parley/protocol";

/** One collapsed notification: what a recipient who is away missed in one conversation. */
export interface Notification {
  /** Stable across retries of the same notification: receivers dedupe on it. */
  id: string;
  recipientId: string;
  conversationId: string;
  /** Messages from others in the window (one notification, not one per message). */
  count: number;
  /** Seq of the first and of the latest message of the window. */
  firstSeq: number;
  lastSeq: number;
  latest: {
    messageId: string;
    seq: number;
    senderId: string;
    senderName: string;
    kind: MessageKind;
    /** The start of the text; absent when previews are turned off. */
    preview?: string;
    createdAt: string;
  };
}

/**
 * Where notifications go (a webhook, APNs/FCM, e-mail, …). `send` resolves once the receiver
 * accepted it; it throws NotificationRejectedError when trying again cannot help, and any
 * other error when it may (the job is retried with backoff).
 */
export interface Notifier {
  readonly name: string;
  send(notification: Notification): Promise<void>;
}
