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
  /**
   * A reaction is one emoji (a single grapheme cluster, ZWJ sequences and skin tones
   * included) or a `:shortcode:`; 32 UTF-16 units hold the longest emoji sequences.
   */
  emojiChars: 32,
  /** Distinct reactions one user may put on one message (keeps a message's payload bounded). */
  reactionsPerUserPerMessage: 20,
  /** `GET /v1/search`: query text, and how many messages one answer carries. */
  searchQueryChars: 256,
  searchDefaultLimit: 20,
  searchMaxLimit: 100,
  shutdownGraceMs: 25_000,
  /** v1.1 administration pages (audit log, reports): default and most entries per page. */
  auditDefaultLimit: 50,
  auditMaxLimit: 200,
  /** A report's free-text note. */
  reportNoteChars: 1_000,
  /** A ban's reason. */
  banReasonChars: 500,
} as const;
