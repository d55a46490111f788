/**
 * `@parley/react`: React bindings for `@parley/client`. Wrap the app in
 * `<ParleyProvider client={client}>`, then read with the hooks; each is a
 * `useSyncExternalStore` subscription to the SDK's own state (nothing is copied into React
 * state), and renders only when what it returns changed.
 */
export { ParleyProvider, useParleyClient, type ParleyProviderProps } from "./context.js";
export { ConversationListStore, type ConversationEntry, type ConversationListSnapshot } from "./conversation-list-store.js";
export { useConnectionState } from "./use-connection-state.js";
export { useConversations, type ConversationsResult } from "./use-conversations.js";
export { useConversation, type ConversationActions, type ConversationResult, type ConversationSnapshot } from "./use-conversation.js";
export { useTyping } from "./use-typing.js";
export { usePresence } from "./use-presence.js";
export { useOutbox, type OutboxResult } from "./use-outbox.js";
export { useBlocks } from "./use-blocks.js";
