import { useBlocks, useConnectionState, useConversations, useParleyClient } from "@parley/react";
import { useMemo, useState } from "react";
import { loadAlertSettings, saveAlertSettings, type AlertSettings } from "../alerts/alert-settings.js";
import { Beeper } from "../alerts/beep.js";
import { useAlerts } from "../alerts/use-alerts.js";
import type { DevUser } from "../dev-sign-in.js";
import { ModerationPage } from "../moderation/moderation-page.js";
import { ConversationList } from "./conversation-list.js";
import { MessagePane } from "./message-pane.js";
import { NewConversationForm, type NewConversation } from "./new-conversation-form.js";
import { OfflineBanner } from "./offline-banner.js";
import { labelOf, peerOf, useConversationDetails } from "./use-conversation-details.js";

export interface ChatScreenProps {
  user: DevUser;
  gateway: string;
  since: number;
  onSignOut: () => void;
}

/**
 * The signed-in page: header with the connection state and the alert switch, the offline
 * banner, the conversation list (unread badges, presence dots), the new-conversation form
 * and the open conversation; for an admin, a switch to the moderation page. Everything it
 * shows comes from the SDK through the hooks.
 */
export function ChatScreen({ user, gateway, since, onSignOut }: ChatScreenProps) {
  const client = useParleyClient();
  const { current: state, reason } = useConnectionState();
  const { conversations } = useConversations();
  const details = useConversationDetails(useMemo(() => conversations.map((c) => c.id), [conversations]));
  const [selectedId, setSelectedId] = useState<string>();
  const [settings, setSettings] = useState<AlertSettings>(() => loadAlertSettings(user.userId));
  const [permission, setPermission] = useState(() => (typeof Notification === "undefined" ? "denied" : Notification.permission));
  const beeper = useMemo(() => new Beeper(), []);
  const muted = useMemo(() => new Set(settings.muted), [settings.muted]);
  const blocked = useBlocks();
  const [moderating, setModerating] = useState(false);

  const updateSettings = (next: AlertSettings) => {
    saveAlertSettings(user.userId, next);
    setSettings(next);
  };
  useAlerts({ me: user.userId, enabled: settings.enabled, muted, blocked, openId: selectedId, since, beeper, onOpen: setSelectedId });

  const create = async (input: NewConversation): Promise<void> => {
    const kind = input.memberIds.length === 1 && !input.title ? "direct" : "group";
    const conversation = await client.conversations.create({ kind, memberIds: input.memberIds, ...(input.title ? { title: input.title } : {}) });
    setSelectedId(conversation.id);
  };

  const selected = conversations.find((c) => c.id === selectedId);
  const peerId = selectedId ? peerOf(details.get(selectedId), user.userId) : undefined;
  const peerName = details.get(selectedId ?? "")?.members?.find((m) => m.userId === peerId)?.displayName ?? peerId;
  return (
    // Any click may be the gesture the browser wants before it plays sound in the background.
    <div className="app" data-testid="chat" data-user-id={user.userId} onClickCapture={() => beeper.unlock()}>
      <header className="top">
        <strong>Parley</strong>
        <span className="me" data-testid="me">
          {user.name} ({user.userId})
        </span>
        <code className="gateway">{gateway}</code>
        <label className="alerts" title="Notifications and a sound for messages in other conversations or while this tab is hidden">
          <input type="checkbox" data-testid="alerts" checked={settings.enabled} onChange={(e) => updateSettings({ ...settings, enabled: e.target.checked })} />
          Alerts
        </label>
        {settings.enabled && permission === "default" ? (
          <button type="button" data-testid="allow-notifications" onClick={() => void Notification.requestPermission().then(setPermission)}>
            Allow notifications
          </button>
        ) : null}
        {user.admin ? (
          <button type="button" data-testid="moderation-toggle" aria-pressed={moderating} onClick={() => setModerating(!moderating)}>
            {moderating ? "Back to chat" : "Moderation"}
          </button>
        ) : null}
        {/* A ban is the "unauthorized" state with the reason "banned": say which, since no new token helps. */}
        <span className="connection" data-testid="connection" data-state={state} data-reason={reason}>
          {reason === "banned" ? "banned" : state}
        </span>
        <button type="button" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <OfflineBanner />
      {moderating ? (
        <ModerationPage />
      ) : (
        <div className="body">
          <aside className="sidebar">
            <NewConversationForm onCreate={create} />
            <div className="list">
              <ConversationList me={user.userId} conversations={conversations} details={details} selectedId={selectedId} muted={muted} blocked={blocked} onSelect={setSelectedId} />
            </div>
          </aside>
          <main className="main">
            {selectedId ? (
              <MessagePane
                key={selectedId}
                conversationId={selectedId}
                label={selected ? labelOf(selected, details.get(selectedId), user.userId) : "Conversation"}
                muted={muted.has(selectedId)}
                peer={peerId ? { userId: peerId, name: peerName ?? peerId, blocked: blocked.has(peerId) } : undefined}
                blocked={blocked}
                onToggleMute={() =>
                  updateSettings({ ...settings, muted: muted.has(selectedId) ? settings.muted.filter((id) => id !== selectedId) : [...settings.muted, selectedId] })
                }
              />
            ) : (
              <p className="empty">Pick a conversation, or start one with a user id.</p>
            )}
          </main>
        </div>
      )}
    </div>
  );
}
