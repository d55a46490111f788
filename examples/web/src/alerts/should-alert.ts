import type { Message } from "@parley/client";

export interface AlertContext {
  /** The signed-in user: own messages (from any device) never alert. */
  me: string;
  /** Alerts are switched on (the header's toggle). */
  enabled: boolean;
  /** Conversations the user muted. */
  muted: ReadonlySet<string>;
  /** Users this user blocks: the server pushes nothing for their messages, and neither does the page. */
  blocked: ReadonlySet<string>;
  /** The conversation on screen, if any. */
  openId: string | undefined;
  /** The tab is hidden (another tab, minimised). */
  hidden: boolean;
  /** When this tab signed in (ms): older messages are history the list shows, not news. */
  since: number;
}

/**
 * Whether a message that just entered the client's store deserves a notification and a
 * sound: someone else's (and not a blocked user's), in an unmuted conversation, not the one being read in a visible
 * tab, and newer than the sign-in (the SDK also reports messages it fetches: a history page,
 * or what a reconnection's sync brings; the ones written before this tab opened are left to
 * the unread badges).
 */
export function shouldAlert(message: Message, ctx: AlertContext): boolean {
  if (!ctx.enabled || message.senderId === ctx.me || message.kind === "system") return false;
  if (ctx.muted.has(message.conversationId) || ctx.blocked.has(message.senderId)) return false;
  if (Date.parse(message.createdAt) < ctx.since) return false;
  return ctx.hidden || message.conversationId !== ctx.openId;
}
