import type { PresenceEntry } from "@parley/client";
import { useEffect, useMemo, useRef, useSyncExternalStore } from "react";
import { keepIfSame } from "./cached-snapshot.js";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";

/**
 * Presence of these users: `userId → entry`, `undefined` while unknown. Asks the server when
 * the list changes and on every return to `online` (only users sharing a conversation are
 * answered); changes then arrive as events. Renders only when one of these users' entries
 * changes. While the client is not online the last known entries are returned (they may be
 * stale: an app can grey them out with `useConnectionState`).
 */
export function usePresence(userIds: readonly string[]): Readonly<Record<string, PresenceEntry | undefined>> {
  const { client, batcher } = useParleyContext();
  const key = [...new Set(userIds)].sort().join("\n");
  const ids = useRef<string[]>([]);
  ids.current = key ? key.split("\n") : [];
  const subscribe = useMemo(() => {
    const watched = new Set(key ? key.split("\n") : []);
    return batched(batcher, (onChange) =>
      client.on("presence", (entry) => {
        if (watched.has(entry.userId)) onChange();
      }),
    );
  }, [client, batcher, key]);
  const last = useRef<Record<string, PresenceEntry | undefined> | undefined>(undefined);
  const snapshot = useSyncExternalStore(subscribe, () => {
    const previous = last.current;
    // An entry is kept while its status and last-seen time are the same: a repeated `online`
    // (the query's answer and the event of the same connection, in either order) renders nothing.
    const entries = ids.current.map((id) => {
      const entry = client.presenceOf(id);
      const before = previous?.[id];
      return [id, before && entry && before.status === entry.status && before.lastSeenAt === entry.lastSeenAt ? before : entry];
    });
    const snapshot = keepIfSame(previous, Object.fromEntries(entries) as Record<string, PresenceEntry | undefined>);
    last.current = snapshot;
    return snapshot;
  });
  useEffect(() => {
    if (!key) return;
    const ask = () => void client.presence(key.split("\n")).catch(() => undefined);
    if (client.state === "online") ask();
    return client.on("state", () => {
      if (client.state === "online") ask();
    });
  }, [client, key]);
  return snapshot;
}
