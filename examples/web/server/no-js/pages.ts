import type { ConversationSummary, Message } from "@parley/protocol";
import { html, trusted, type Html } from "./html.js";

/** Seconds between reloads of the conversation list (a page without script sees news only on a reload). */
export const LIST_REFRESH_SECONDS = 15;

const STYLE = `body{font:16px/1.4 system-ui,sans-serif;max-width:44rem;margin:1rem auto;padding:0 1rem;color:#1d2330}
.dev{background:#fff3c4;border:1px solid #e0c060;padding:.4rem .6rem}
ol.messages{list-style:none;padding:0}ol.messages li{padding:.3rem 0;border-bottom:1px solid #e3e6ec}
.who{font-weight:600}.when{color:#667;font-size:.85em}.error{color:#a00}
ul.conversations li{padding:.2rem 0}.unread{background:#2b6cb0;color:#fff;border-radius:1em;padding:0 .5em;font-size:.85em}
textarea{width:100%;box-sizing:border-box}nav{display:flex;gap:1rem;align-items:center}`;

function page(title: string, body: Html, options: { refreshSeconds?: number } = {}): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ""}
<title>${title} · Parley (basic)</title><style>${trusted(STYLE)}</style></head>
<body>${body}</body></html>`.text;
}

const devNotice = html`<p class="dev" data-testid="dev-notice"><strong>Development sign-in.</strong> Anyone can sign in as anyone here: this page exists only on the example's development server.</p>`;

export function signInPage(base: string, error?: string): string {
  return page(
    "Sign in",
    html`<h1>Parley, without JavaScript</h1>${devNotice}
${error ? html`<p class="error" role="alert">${error}</p>` : ""}
<form method="post" action="${base}/sign-in" data-testid="basic-sign-in">
<p><label>User id <input name="userId" required maxlength="128" autocomplete="username"></label></p>
<p><label>Display name <input name="name" maxlength="64"></label></p>
<p><button type="submit">Sign in</button></p></form>`,
  );
}

function header(base: string, userName: string, refreshHref: string): Html {
  return html`<nav><a href="${base}/">Conversations</a><a href="${refreshHref}" data-testid="refresh">Refresh</a>
<span>Signed in as <strong>${userName}</strong></span>
<form method="post" action="${base}/sign-out"><button type="submit">Sign out</button></form></nav>`;
}

function conversationTitle(c: Pick<ConversationSummary, "title" | "kind" | "id">): string {
  return c.title ?? (c.kind === "direct" ? "Direct conversation" : `Conversation ${c.id.slice(0, 8)}`);
}

export function conversationListPage(base: string, userName: string, conversations: readonly ConversationSummary[], error?: string): string {
  const items = conversations.map(
    (c) => html`<li data-conversation-id="${c.id}"><a href="${base}/c/${c.id}">${conversationTitle(c)}</a>
${c.unreadCount > 0 ? html` <span class="unread" data-testid="unread">${c.unreadCount}</span>` : ""}
${c.lastMessage ? html` <span class="when">${c.lastMessage.senderName}: ${c.lastMessage.body ?? "(deleted)"}</span>` : ""}</li>`,
  );
  return page(
    "Conversations",
    html`${header(base, userName, `${base}/`)}<h1>Conversations</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ""}
${conversations.length ? html`<ul class="conversations" data-testid="basic-conversations">${items}</ul>` : html`<p>No conversations yet.</p>`}
<h2>New conversation</h2>
<form method="post" action="${base}/conversations" data-testid="basic-new-conversation">
<p><label>Members (user ids, comma-separated) <input name="members" required></label></p>
<p><label>Title (optional) <input name="title" maxlength="200"></label></p>
<p><button type="submit">Start</button></p></form>`,
    { refreshSeconds: LIST_REFRESH_SECONDS },
  );
}

export interface ConversationPageInput {
  base: string;
  userName: string;
  conversation: Pick<ConversationSummary, "title" | "kind" | "id">;
  messages: readonly Message[];
  /** Made when the page is rendered: the form sends it, so a resubmitted form stores once. */
  clientMessageId: string;
  draft?: string;
  error?: string;
}

export function conversationPage(input: ConversationPageInput): string {
  const { base, conversation } = input;
  const self = `${base}/c/${conversation.id}`;
  const items = input.messages.map(
    (m) => html`<li data-seq="${m.seq}"><span class="who">${m.senderName}</span> <span class="when">${new Date(m.createdAt).toISOString().slice(11, 16)} UTC</span>
<div class="body">${m.deletedAt ? "(deleted)" : (m.body ?? "")}</div></li>`,
  );
  // No meta refresh here: it would throw away what the user is typing. The Refresh link reloads.
  return page(
    conversationTitle(conversation),
    html`${header(base, input.userName, self)}<h1>${conversationTitle(conversation)}</h1>
${input.messages.length ? html`<ol class="messages" data-testid="basic-messages">${items}</ol>` : html`<p>No messages yet.</p>`}
${input.error ? html`<p class="error" role="alert" data-testid="send-error">${input.error} Sending again is safe: the message is stored once.</p>` : ""}
<form method="post" action="${self}/messages" data-testid="basic-composer">
<input type="hidden" name="clientMessageId" value="${input.clientMessageId}">
<p><label>Message <textarea name="body" rows="3" required>${input.draft ?? ""}</textarea></label></p>
<p><button type="submit">Send</button></p></form>`,
  );
}

export function errorPage(base: string, message: string): string {
  return page("Error", html`<h1>Something went wrong</h1><p class="error" role="alert">${message}</p><p><a href="${base}/">Back to the conversations</a></p>`);
}
