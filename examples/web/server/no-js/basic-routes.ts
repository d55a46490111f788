import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeJwt } from "jose";
import { z } from "zod";
import type { Middleware } from "../dev-routes.js";
import { DevTokenRequest, signDevToken, type DevTokenConfig } from "../dev-token.js";
import type { GatewayApi } from "./gateway-api.js";
import { conversationListPage, conversationPage, errorPage, signInPage } from "./pages.js";
import { TOKEN_COOKIE, clearTokenCookie, readCookies, tokenCookie } from "./session-cookie.js";

export interface BasicRoutesOptions {
  /** Where the pages live, without a trailing slash ("/basic"). */
  base: string;
  token: DevTokenConfig;
  api: GatewayApi;
  /** Messages shown of a conversation (the newest ones). */
  pageSize: number;
  onError?: (error: unknown) => void;
}

/** A message body is at most 4,000 characters (contract); a form of 64 KiB holds it in any encoding. */
const MAX_FORM_BYTES = 64 * 1024;

const SendForm = z.object({ clientMessageId: z.uuid(), body: z.string().min(1).max(20_000) });
const NewConversationForm = z.object({
  members: z.string().transform((text) => text.split(",").map((m) => m.trim()).filter(Boolean)).pipe(z.array(z.string().max(128)).min(1).max(50)),
  title: z.string().trim().max(200).optional().transform((t) => t || undefined),
});

class FormTooLarge extends Error {}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new FormTooLarge();
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString("utf8")));
}

/**
 * The pages have no script and must work without one: the policy forbids every script (and
 * anything loaded from elsewhere), so a browser with JavaScript on runs them exactly as one
 * with it off. Inline styles only; forms post to this server only.
 */
export const NO_SCRIPT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", "content-security-policy": NO_SCRIPT_POLICY, ...headers }).end(body);
}

/** Redirect after post: a reload of the next page repeats a GET, never the POST. */
function seeOther(res: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(303, { location, "cache-control": "no-store", ...headers }).end();
}

/**
 * The web chat without JavaScript: server-rendered pages under `base` that talk to the
 * gateway's HTTP API with the user's token, kept in an HttpOnly cookie set by a development
 * sign-in (like `/dev/token`, this exists only on the example's development server).
 * - `GET  base/`                      sign-in form, or the conversation list (reloads itself);
 * - `POST base/sign-in`, `base/sign-out`;
 * - `POST base/conversations`         start one (members, title);
 * - `GET  base/c/:id`                 the newest messages and a send form with a hidden
 *                                     `clientMessageId` made at render time; marks them read;
 * - `POST base/c/:id/messages`        sends through the gateway's idempotent path, then 303 back.
 */
export function basicRoutes(options: BasicRoutesOptions): Middleware {
  const { base, api } = options;
  const conversationPath = new RegExp(`^${base}/c/([0-9a-f-]{36})(/messages)?$`);

  const signedIn = (req: IncomingMessage): { token: string; name: string } | undefined => {
    const token = readCookies(req).get(TOKEN_COOKIE);
    if (!token) return undefined;
    try {
      const claims = decodeJwt(token);
      // The gateway verifies the token on every call; here only the name is read, and an expired one means signing in again.
      if (typeof claims.sub !== "string" || (claims.exp !== undefined && claims.exp * 1000 <= Date.now())) return undefined;
      return { token, name: typeof claims.name === "string" ? claims.name : claims.sub };
    } catch {
      return undefined;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string, next: () => void): Promise<void> => {
    if (path === base) return seeOther(res, `${base}/`);
    if (path === `${base}/sign-in` && req.method === "POST") {
      const form = DevTokenRequest.safeParse(await readForm(req));
      if (!form.success) return send(res, 400, signInPage(base, "A user id of 1 to 128 characters, and a name of at most 64."));
      const { token } = await signDevToken(options.token, { userId: form.data.userId, ...(form.data.name ? { name: form.data.name } : {}) });
      return seeOther(res, `${base}/`, { "set-cookie": tokenCookie(base, token, options.token.ttlSeconds) });
    }
    if (path === `${base}/sign-out` && req.method === "POST") return seeOther(res, `${base}/`, { "set-cookie": clearTokenCookie(base) });

    const session = signedIn(req);
    if (path === `${base}/` && req.method === "GET") {
      if (!session) return send(res, 200, signInPage(base));
      const list = await api.listConversations(session.token);
      if (!list.ok) return refused(res, list.status, list.error.message);
      return send(res, 200, conversationListPage(base, session.name, list.data.conversations));
    }
    if (!session) {
      // Signed out (or the token ran out) on a page that needs a user: back to the sign-in.
      return seeOther(res, `${base}/`, { "set-cookie": clearTokenCookie(base) });
    }
    if (path === `${base}/conversations` && req.method === "POST") {
      const form = NewConversationForm.safeParse(await readForm(req));
      if (!form.success) return send(res, 400, errorPage(base, "Members: one or more user ids, separated by commas."));
      const created = await api.createConversation(session.token, form.data.members, form.data.title);
      if (!created.ok) return refused(res, created.status, created.error.message);
      return seeOther(res, `${base}/c/${created.data.conversation.id}`);
    }
    const match = conversationPath.exec(path);
    if (!match) return next();
    const conversationId = match[1]!;
    if (match[2] && req.method === "POST") {
      const form = SendForm.safeParse(await readForm(req));
      if (!form.success) return send(res, 400, errorPage(base, "The form was not complete: open the conversation again and resend."));
      const sent = await api.sendMessage(session.token, conversationId, form.data.clientMessageId, form.data.body);
      if (sent.ok) return seeOther(res, `${base}/c/${conversationId}`);
      if (sent.status === 401) return seeOther(res, `${base}/`, { "set-cookie": clearTokenCookie(base) });
      // Not stored (or not known to be): the same form again, with the same clientMessageId,
      // so sending it again cannot store it twice.
      const retry = sent.retryAfterSeconds ? ` Try again in ${sent.retryAfterSeconds} s.` : "";
      return renderConversation(res, session, conversationId, sent.status || 503, {
        clientMessageId: form.data.clientMessageId,
        draft: form.data.body,
        error: `Not sent: ${sent.error.message}.${retry}`,
      });
    }
    if (!match[2] && req.method === "GET") return renderConversation(res, session, conversationId, 200, { clientMessageId: randomUUID() });
    res.setHeader("allow", match[2] ? "POST" : "GET");
    return send(res, 405, errorPage(base, "Method not allowed."));
  };

  const refused = (res: ServerResponse, status: number, message: string): void => {
    if (status === 401) return seeOther(res, `${base}/`, { "set-cookie": clearTokenCookie(base) });
    send(res, status === 0 ? 503 : status, errorPage(base, message));
  };

  const renderConversation = async (
    res: ServerResponse,
    session: { token: string; name: string },
    conversationId: string,
    status: number,
    form: { clientMessageId: string; draft?: string; error?: string },
  ): Promise<void> => {
    const [conversation, messages] = await Promise.all([api.getConversation(session.token, conversationId), api.latestMessages(session.token, conversationId, options.pageSize)]);
    if (!conversation.ok) return refused(res, conversation.status, conversation.error.message);
    if (!messages.ok) return refused(res, messages.status, messages.error.message);
    // The page shows them: they are read (the other members' ticks turn blue).
    const ordered = [...messages.data.messages].sort((a, b) => a.seq - b.seq);
    const newest = ordered.at(-1)?.seq;
    if (newest !== undefined) {
      const read = await api.markRead(session.token, conversationId, newest);
      if (!read.ok) options.onError?.(new Error(`mark read: ${read.error.message}`));
    }
    send(res, status, conversationPage({ base, userName: session.name, conversation: conversation.data.conversation, messages: ordered, ...form }));
  };

  return (req, res, next) => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path !== base && !path.startsWith(`${base}/`)) return next();
    handle(req, res, path, next).catch((error: unknown) => {
      if (error instanceof FormTooLarge) return send(res, 413, errorPage(base, "The form was too large."));
      options.onError?.(error);
      if (!res.headersSent) send(res, 500, errorPage(base, "The server could not answer."));
    });
  };
}
