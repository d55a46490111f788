import type { ConnectionState } from "@parley/client";
import { useMemo, useSyncExternalStore } from "react";
import { useParleyContext } from "./context.js";
import { batched } from "./render-batcher.js";

/** The client's connection state (`connecting`, `online`, `offline`, `unauthorized`, `closed`); renders on each change only. */
export function useConnectionState(): ConnectionState {
  const { client, batcher } = useParleyContext();
  const subscribe = useMemo(() => batched(batcher, (onChange) => client.on("state", () => onChange())), [client, batcher]);
  return useSyncExternalStore(subscribe, () => client.state);
}
