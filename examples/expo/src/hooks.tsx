import { useCallback, useSyncExternalStore } from "react";
import type { ConnectionStateChange } from "@parley/client";
import { useParleyClient } from "@parley/react";

/*
 * The app reads the SDK through @parley/react's hooks. One more it needs: the state event's
 * reason and retry time for its banner (`useConnectionState` gives the state alone). Every
 * change renders, an offline → offline one too (its reason or retry time is news).
 */
export function useConnectionChange(): ConnectionStateChange {
  const client = useParleyClient();
  const subscribe = useCallback((onChange: () => void) => client.on("state", onChange), [client]);
  return useSyncExternalStore(subscribe, () => client.stateChange);
}
