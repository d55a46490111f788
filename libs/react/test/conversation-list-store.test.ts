import type { ConversationSummary, Message, ParleyClient } from "@parley/client";
import { ParleyRequestError } from "@parley/client";
import { expect, it, vi } from "vitest";
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
  const refusals: ((error: unknown) => void)[] = [];
  const client = {
    on: (event: string, fn: (payload: unknown) => void) => {
      listeners.set(event, [...(listeners.get(event) ?? []), fn]);
      return () => undefined;
    },
    conversations: {
      list: () =>
        new Promise<ConversationSummary[]>((resolve, reject) => {
          answers.push(resolve);
          refusals.push(reject);
        }),
    },
    conversation: () => ({ unreadCount: 0 }),
  } as unknown as ParleyClient;
  const emit = (event: string, payload: unknown) => listeners.get(event)?.forEach((fn) => fn(payload));
  const answer = (rows: ConversationSummary[]) => {
    refusals.shift();
    answers.shift()!(rows);
  };
  const refuse = (error: unknown) => {
    answers.shift();
    refusals.shift()!(error);
  };
  return { client, emit, answer, refuse, pending: () => answers.length };
}

it("a listing answered after a newer live message keeps that message as the row's preview", async () => {
  const { client, emit, answer } = scriptedClient();
  const store = new ConversationListStore(client);
  store.subscribe(() => undefined);
  answer([summary(30)]);
  await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(store.getSnapshot().conversations[0]?.lastMessage?.seq).toBe(30);

  // Back online: a listing goes out (read before m31 was stored), m31 arrives live, then the listing's answer.
  emit("state", { current: "online" });
  emit("message", message(31));
  expect(store.getSnapshot().conversations[0]?.lastMessage?.seq).toBe(31);
  answer([summary(30)]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  const row = store.getSnapshot().conversations[0]!;
  expect(row.lastMessage?.seq).toBe(31);
  expect(row.lastSeq).toBe(31);

  // A later listing that has it (or more) is taken as it is.
  emit("state", { current: "online" });
  answer([summary(32)]);
  await new Promise((resolve) => setTimeout(resolve, 0));
  expect(store.getSnapshot().conversations[0]?.lastMessage?.seq).toBe(32);
});

it("a listing refused by a busy or rate-limiting server is tried again by itself, not sooner than asked; a lasting refusal is not", async () => {
  vi.useFakeTimers();
  try {
    const { client, answer, refuse, pending } = scriptedClient();
    const store = new ConversationListStore(client);
    const off = store.subscribe(() => undefined);
    refuse(new ParleyRequestError({ code: "RATE_LIMITED", message: "slow down", retryAfterMs: 5_000 }));
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getSnapshot().status).toBe("error");
    await vi.advanceTimersByTimeAsync(4_999);
    expect(pending()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending()).toBe(1);
    answer([summary(3)]);
    await vi.advanceTimersByTimeAsync(0);
    expect(store.getSnapshot()).toMatchObject({ status: "ready", conversations: [{ id: "c1" }] });
    off();

    const other = scriptedClient();
    const lasting = new ConversationListStore(other.client);
    lasting.subscribe(() => undefined);
    other.refuse(new ParleyRequestError({ code: "FORBIDDEN", message: "no" }));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(other.pending()).toBe(0);
  } finally {
    vi.useRealTimers();
  }
});
