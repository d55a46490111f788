import type { ConversationSummary, Message, ParleyClient } from "@parley/client";
import { expect, it } from "vitest";
import { ConversationListStore } from "../src/conversation-list-store.js";

// The store's merge of a listing with what was heard live, on a scripted client: the listing
// is answered only when the test says so, as a slow HTTP response would be.

const message = (seq: number): Message => ({
  id: `m${seq}`,
  conversationId: "c1",
  seq,
  senderId: "alice",
  senderName: "Alice",
  clientMessageId: `cm${seq}`,
  kind: "text",
  body: `m${seq}`,
  createdAt: new Date(1_800_000_000_000 + seq).toISOString(),
});
const summary = (lastSeq: number): ConversationSummary =>
  ({ id: "c1", kind: "direct", createdAt: new Date(1_800_000_000_000).toISOString(), lastSeq, lastReadSeq: 0, unreadCount: lastSeq, lastMessage: message(lastSeq) }) as unknown as ConversationSummary;

function scriptedClient() {
  const listeners = new Map<string, ((payload: unknown) => void)[]>();
  const answers: ((rows: ConversationSummary[]) => void)[] = [];
  const client = {
    on: (event: string, fn: (payload: unknown) => void) => {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
      return () => undefined;
    },
    conversations: { list: () => new Promise<ConversationSummary[]>((resolve) => answers.push(resolve)) },
    conversation: () => ({ unreadCount: 0 }),
  } as unknown as ParleyClient;
  const emit = (event: string, payload: unknown) => listeners.get(event)?.forEach((fn) => fn(payload));
  return { client, emit, answers };
}

it("a listing answered after a newer live message keeps that message as the row's preview", async () => {
  const { client, emit, answers } = scriptedClient();
  const store = new ConversationListStore(client);
  store.subscribe(() => undefined);
  answers.shift()!([summary(30)]);
  await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(store.getSnapshot().conversations[0]?.lastMessage?.seq).toBe(30);

  // Back online: a listing goes out (read before m31 was stored), m31 arrives live, then the listing's answer.
  emit("state", { current: "online" });
  emit("message", message(31));
  expect(store.getSnapshot().conversations[0]?.lastMessage?.seq).toBe(31);
  answers.shift()!([summary(30)]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  const row = store.getSnapshot().conversations[0]!;
  expect(row.lastMessage?.seq).toBe(31);
  expect(row.lastSeq).toBe(31);

  // A later listing that has it (or more) is taken as it is.
  emit("state", { current: "online" });
  answers.shift()!([summary(32)]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(store.getSnapshot().conversations[0]?.lastMessage?.seq).toBe(32);
});
