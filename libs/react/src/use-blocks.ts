import { useMemo, useRef, useSyncExternalStore } from "react";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";

/**
 * Whom this user blocks, as a set (hide their messages, offer "unblock"). The SDK learns the
 * list at `session:ready` and hears every change, from this tab or another device
 * (`blocks:changed`), so nothing is asked of the server here. Renders only when the list changes.
 */
export function useBlocks(): ReadonlySet<string> {
  const { client, batcher } = useParleyContext();
  const subscribe = useMemo(() => batched(batcher, (onChange) => client.on("blocks", onChange)), [client, batcher]);
  // The SDK hands out a new array on each change: the set is rebuilt only then.
  const last = useRef<{ from: readonly string[]; set: ReadonlySet<string> } | undefined>(undefined);
  return useSyncExternalStore(subscribe, () => {
    const userIds = client.blocks.userIds;
    if (last.current?.from !== userIds) last.current = { from: userIds, set: new Set(userIds) };
    return last.current.set;
  });
}
