import { useParleyClient } from "@parley/react";
import { useEffect, useState } from "react";

/**
 * Whom this user blocks, as a set, re-rendered on the client's `blocks` event: the SDK learns
 * the list at session:ready and hears every change, from this tab or another device, so the
 * page never asks the server itself.
 */
export function useBlocks(): ReadonlySet<string> {
  const client = useParleyClient();
  const [blocked, setBlocked] = useState<ReadonlySet<string>>(() => new Set(client.blocks.userIds));
  useEffect(() => {
    // The list may have arrived between the first render and this subscription.
    setBlocked(new Set(client.blocks.userIds));
    return client.on("blocks", ({ userIds }) => setBlocked(new Set(userIds)));
  }, [client]);
  return blocked;
}
