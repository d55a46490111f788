import type { ParleyClient } from "@parley/client";
import { h } from "../dom.js";

/**
 * Shown while the client is not online: how many own messages wait in the outbox (they are
 * kept durably and go out by themselves when the connection returns).
 */
export function offlineBanner(client: ParleyClient): { element: HTMLElement; update(): void } {
  const element = h("div", { class: "offline-banner", "data-testid": "offline-banner", hidden: true, role: "status" });
  const update = () => {
    const state = client.state;
    const queued = client.outbox().filter((m) => m.status === "pending").length;
    element.hidden = state === "online";
    element.dataset.state = state;
    element.dataset.queued = String(queued);
    const what =
      state === "unauthorized" ? "Signed out: the token was refused." : state === "connecting" ? "Connecting…" : state === "closed" ? "Closed." : "Offline: reconnecting…";
    const waiting = queued === 0 ? "" : ` ${queued} message${queued === 1 ? "" : "s"} queued; they go out when the network returns.`;
    element.textContent = `${what}${waiting}`;
  };
  update();
  return { element, update };
}
