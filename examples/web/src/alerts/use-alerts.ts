import { useParleyClient } from "@parley/react";
import { useEffect, useRef } from "react";
import type { Beeper } from "./beep.js";
import { shouldAlert, type AlertContext } from "./should-alert.js";

/** Sounds closer together than this are one (a burst of messages chimes once). */
const SOUND_GAP_MS = 1_500;

export interface UseAlertsOptions extends Omit<AlertContext, "hidden"> {
  beeper: Beeper;
  /** A notification was clicked: show its conversation. */
  onOpen: (conversationId: string) => void;
}

/**
 * Notifies (Notification API, one per conversation: a newer one replaces it) and chimes for
 * messages that `shouldAlert` picks. Notifications need the user's permission (the header's
 * button asks); without it only the sound plays.
 */
export function useAlerts(options: UseAlertsOptions): void {
  const client = useParleyClient();
  // The listener reads the latest options without subscribing again on every render.
  const latest = useRef(options);
  latest.current = options;
  useEffect(() => {
    let lastSound = 0;
    return client.on("message", (message) => {
      const o = latest.current;
      if (!shouldAlert(message, { ...o, hidden: document.visibilityState === "hidden" })) return;
      if (typeof Notification !== "undefined" && Notification.permission === "granted") {
        const notification = new Notification(message.senderName, { body: message.body ?? "", tag: message.conversationId, data: { conversationId: message.conversationId } });
        notification.onclick = () => {
          window.focus();
          latest.current.onOpen(message.conversationId);
          notification.close();
        };
      }
      const now = Date.now();
      if (now - lastSound >= SOUND_GAP_MS) {
        lastSound = now;
        o.beeper.beep();
      }
    });
  }, [client]);
}
