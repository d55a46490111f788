/**
 * `@parley/client`: the Parley client SDK. Runs in browsers, Node and React Native (no
 * Node-only API in this entry; Node adapters are in `@parley/client/node`).
 */
export { createClient } from "./create-client.js";
export { memoryStorage, type OutboxRecord, type OutboxStorage } from "./outbox-storage.js";
export { indexedDbStorage, type IndexedDbStorageOptions } from "./indexeddb-storage.js";
export { fullJitterDelay } from "./backoff.js";
export { isRetryable, ParleyRequestError } from "./request-error.js";
export type {
  Attachment,
  ChatMessage,
  ClientEventMap,
  ClientEventName,
  ClientLogger,
  ClientOptions,
  ConnectionState,
  ConnectionStateChange,
  ConnectionStateReason,
  Conversation,
  ConversationKind,
  ConversationSummary,
  ConversationsApi,
  ConversationView,
  ErrorBody,
  MemberReceipts,
  Message,
  MessageKind,
  MessageStatus,
  NetworkSignal,
  OutgoingMessage,
  ParleyClient,
  PresenceEntry,
  PresenceStatus,
  SendInput,
  Typist,
  Unsubscribe,
} from "./types.js";
