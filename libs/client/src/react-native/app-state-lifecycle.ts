import type { ParleyClient } from "../types.js";

/** What the binding reads of React Native's `AppState`. */
export interface AppStateLike {
  currentState?: string | null;
  addEventListener(type: "change", listener: (state: string) => void): { remove(): void };
}

/**
 * Ties a client to the app's lifecycle. In the background the socket is let go
 * (`disconnect()`: the OS would freeze or kill it anyway, and a frozen socket holds messages
 * until a ping timeout); views and outbox stay. Back in the foreground (`active`) it
 * reconnects (`connect()`, whose `session:ready` brings a `sync`) or, when the socket
 * survived a short trip (iOS's `inactive`: a pulled-down control centre), syncs on the
 * socket it has, so a last message lost meanwhile shows at once. Returns the unsubscribe.
 */
export function bindAppState(client: Pick<ParleyClient, "disconnect" | "connect" | "sync" | "state">, appState: AppStateLike): () => void {
  let background = appState.currentState === "background";
  if (background) client.disconnect();
  const subscription = appState.addEventListener("change", (state) => {
    if (state === "background") {
      if (!background) client.disconnect();
      background = true;
      return;
    }
    if (state !== "active") return; // "inactive" (iOS, passing) and "unknown": no change
    if (background) {
      background = false;
      client.connect();
    } else if (client.state === "online") client.sync();
  });
  return () => subscription.remove();
}
