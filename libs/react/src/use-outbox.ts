import type { OutgoingMessage } from "@parley/client";
import { useMemo, useRef, useSyncExternalStore } from "react";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";

export interface OutboxResult {
  /** Own messages not stored yet, oldest first (pending and failed). */
  readonly messages: readonly OutgoingMessage[];
  /** How many are pending (queued or in flight). */
  readonly pending: number;
  /** How many were refused for good (retry or discard them). */
  readonly failed: number;
  retry(clientMessageId: string): void;
  discard(clientMessageId: string): Promise<void>;
}

/**
 * The outbox (own messages not stored yet): for an "N queued" banner or a failed-message
 * list. Renders on each outbox change only. The SDK updates an outgoing message in place, so
 * each change hands out copies of the (few) entries: a `memo` row sees the new status.
 */
export function useOutbox(): OutboxResult {
  const { client, batcher } = useParleyContext();
  const version = useRef(0);
  const last = useRef<{ version: number; messages: readonly OutgoingMessage[] } | undefined>(undefined);
  const subscribe = useMemo(
    () =>
      batched(batcher, (onChange) =>
        client.on("outbox", () => {
          version.current++;
          onChange();
        }),
      ),
    [client, batcher],
  );
  const messages = useSyncExternalStore(subscribe, () => {
    if (last.current?.version !== version.current) last.current = { version: version.current, messages: client.outbox().map((m) => ({ ...m })) };
    return last.current.messages;
  });
  return useMemo(
    () => ({
      messages,
      pending: messages.filter((m) => m.status === "pending").length,
      failed: messages.filter((m) => m.status === "failed").length,
      retry: (id: string) => client.retry(id),
      discard: (id: string) => client.discard(id),
    }),
    [client, messages],
  );
}
