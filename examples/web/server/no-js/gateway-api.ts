import { ErrorBodySchema, HttpRoutes, type ErrorBody } from "@parley/protocol";
import { z } from "zod";

export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; error: ErrorBody; retryAfterSeconds?: number };

const ErrorReply = z.object({ error: ErrorBodySchema.partial({ message: true }) });

/** How long the server waits for a gateway before it shows the user an error page. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The gateway's HTTP API as the no-JavaScript pages use it, with the signed-in user's token.
 * Each reply is checked with the contract's schema. A gateway that cannot be reached is tried
 * once more on the next one; anything else (a refusal, a timeout) is the caller's to show.
 */
export class GatewayApi {
  constructor(
    private readonly gateways: readonly string[],
    private readonly fetchImpl: typeof fetch = (...args) => globalThis.fetch(...args),
  ) {}

  listConversations(token: string) {
    return this.call(token, "GET", "/v1/conversations?limit=50", HttpRoutes.listConversations.reply);
  }

  getConversation(token: string, id: string) {
    return this.call(token, "GET", `/v1/conversations/${encodeURIComponent(id)}`, HttpRoutes.getConversation.reply);
  }

  latestMessages(token: string, id: string, limit: number) {
    return this.call(token, "GET", `/v1/conversations/${encodeURIComponent(id)}/messages?limit=${limit}`, HttpRoutes.listMessages.reply);
  }

  /** The same idempotent send as the socket's `message:send`: a repeated clientMessageId is stored once. */
  sendMessage(token: string, id: string, clientMessageId: string, body: string) {
    return this.call(token, "POST", `/v1/conversations/${encodeURIComponent(id)}/messages`, HttpRoutes.sendMessage.reply, { clientMessageId, body });
  }

  markRead(token: string, id: string, seq: number) {
    return this.call(token, "POST", `/v1/conversations/${encodeURIComponent(id)}/read`, HttpRoutes.markRead.reply, { seq });
  }

  createConversation(token: string, memberIds: string[], title: string | undefined) {
    const kind = memberIds.length === 1 && !title ? "direct" : "group";
    return this.call(token, "POST", "/v1/conversations", HttpRoutes.createConversation.reply, { kind, memberIds, ...(title ? { title } : {}) });
  }

  private async call<S extends z.ZodType>(token: string, method: string, path: string, reply: S, body?: unknown): Promise<ApiResult<z.infer<S>>> {
    let lastError = "";
    for (const base of this.gateways.slice(0, 2)) {
      let res: Response;
      try {
        res = await this.fetchImpl(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
      } catch (error) {
        // Unreachable (or too slow): a POST may still have landed, which is why sends carry a clientMessageId.
        lastError = (error as Error).message;
        continue;
      }
      const json: unknown = await res.json().catch(() => undefined);
      if (!res.ok) {
        const parsed = ErrorReply.safeParse(json);
        const retryAfter = Number(res.headers.get("retry-after"));
        return {
          ok: false,
          status: res.status,
          error: parsed.success ? { code: parsed.data.error.code, message: parsed.data.error.message ?? `HTTP ${res.status}` } : { code: res.status >= 500 ? "UNAVAILABLE" : "INTERNAL", message: `HTTP ${res.status}` },
          ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
        };
      }
      const parsed = reply.safeParse(json);
      if (!parsed.success) return { ok: false, status: res.status, error: { code: "INTERNAL", message: `malformed reply to ${method} ${path}` } };
      return { ok: true, status: res.status, data: parsed.data };
    }
    return { ok: false, status: 0, error: { code: "UNAVAILABLE", message: `no gateway answered: ${lastError}` } };
  }
}
