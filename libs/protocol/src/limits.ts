/** Defaults the contract fixes; services may lower them through configuration. */
export const LIMITS = {
  /** Characters in a message body. */
  messageBodyChars: 4_000,
  /** Bytes in one Socket.IO frame or HTTP body. */
  frameBytes: 64 * 1024,
  /** Sends per user per second, across all sockets and HTTP. */
  sendsPerSecond: 20,
  /** Sends a user may make at once before the rate applies. */
  sendBurst: 40,
  syncDefaultLimit: 100,
  syncMaxLimit: 500,
  /** Messages in one `sync` answer, across all conversations. */
  syncMaxTotal: 2_000,
  historyDefaultLimit: 50,
  historyMaxLimit: 500,
  attachmentsPerMessage: 10,
  membersPerRequest: 500,
  titleChars: 200,
  shutdownGraceMs: 25_000,
} as const;
