import type { ConnectionStateChange } from "@parley/client";
import { useMemo, useSyncExternalStore } from "react";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";

/**
 * The connection state as the SDK's latest `state` event: `{ current, previous, reason,
 * retryInMs }` (`current`: `connecting`, `online`, `offline`, `unauthorized`, `closed`;
 * `retryInMs`: when offline, how long until the next attempt). Renders on each change only.
 */
export function useConnectionState(): ConnectionStateChange {
  const { client, batcher } = useParleyContext();
  const subscribe = useMemo(() => batched(batcher, (onChange) => client.on("state", () => onChange())), [client, batcher]);
  return useSyncExternalStore(subscribe, () => client.stateChange);
}
