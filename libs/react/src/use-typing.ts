import type { Typist } from "@parley/client";
import { useMemo, useSyncExternalStore } from "react";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";

/** Who else is typing in the conversation now (the SDK's array: it changes only when a typist comes or goes). */
export function useTyping(conversationId: string): readonly Typist[] {
  const { client, batcher } = useParleyContext();
  const view = client.conversation(conversationId);
  const subscribe = useMemo(() => batched(batcher, view.subscribe), [batcher, view]);
  return useSyncExternalStore(subscribe, () => view.typing);
}
