import { useParleyClient } from "@parley/react";
import { BlockButton } from "./block-button.js";
import { useAction } from "./use-action.js";

export interface ConversationMenuProps {
  conversationId: string;
  muted: boolean;
  /** Flips the page's own mute (its alerts), kept per user in this browser. */
  onToggleMute: () => void;
  /** The other member of a direct conversation, to block from here. */
  peer: { userId: string; name: string; blocked: boolean } | undefined;
}

/**
 * The open conversation's menu: mute or unmute it, and block or unblock the other member of
 * a direct conversation. Mute is two things: the page's alerts (local, at once) and the
 * server's push notifications (`client.mute`). The server does not tell a client what it
 * muted, so the page's list is the one shown; a refused server call is shown beside it.
 */
export function ConversationMenu({ conversationId, muted, onToggleMute, peer }: ConversationMenuProps) {
  const client = useParleyClient();
  const mute = useAction();
  const toggleMute = () => {
    onToggleMute();
    void mute.run(() => (muted ? client.unmute(conversationId) : client.mute(conversationId)));
  };
  return (
    <div className="conversation-menu" data-testid="conversation-menu">
      <button type="button" className="mute" data-testid="mute" aria-pressed={muted} disabled={mute.busy} onClick={toggleMute} title="No notification, push or sound for this conversation">
        {muted ? "Unmute" : "Mute"}
      </button>
      {mute.error ? (
        <span className="error" data-testid="mute-error">
          server mute failed: {mute.error}
        </span>
      ) : null}
      {peer ? <BlockButton userId={peer.userId} blocked={peer.blocked} label={peer.name} /> : null}
    </div>
  );
}
