import { useConnectionState, useOutbox } from "@parley/react";

/**
 * Shown while the client is not online: how many own messages wait in the outbox (they are
 * kept durably and go out by themselves when the connection returns).
 */
export function OfflineBanner() {
  const { current: state, retryInMs } = useConnectionState();
  const { pending } = useOutbox();
  const retry = retryInMs === undefined ? "" : ` next attempt in ${Math.max(1, Math.round(retryInMs / 1_000))} s`;
  const what =
    state === "unauthorized" ? "Signed out: the token was refused." : state === "connecting" ? "Connecting…" : state === "closed" ? "Closed." : `Offline: reconnecting…${retry}`;
  const waiting = pending === 0 ? "" : ` ${pending} message${pending === 1 ? "" : "s"} queued; they go out when the network returns.`;
  return (
    <div className="offline-banner" data-testid="offline-banner" hidden={state === "online"} role="status" data-state={state} data-queued={pending}>
      {what}
      {waiting}
    </div>
  );
}
