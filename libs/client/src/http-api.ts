import { z } from "zod";
import { ErrorBodySchema, ExportLineSchema, HttpRoutes, type ErrorBody, type ExportLine } from "@parley/protocol";

export type HttpResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; error: ErrorBody };

export interface HttpApiDeps {
  baseUrl: () => string;
  token: () => Promise<string | null>;
  fetch: typeof fetch;
  timeoutMs: number;
}

const HttpErrorReply = z.object({ error: ErrorBodySchema.partial({ message: true }) });

/**
 * The gateway's HTTP API, each reply validated with the catalog's schema. Network failures and
 * timeouts come back as `UNAVAILABLE` (retry later), never as a throw.
 */
export class HttpApi {
  constructor(private readonly deps: HttpApiDeps) {}

  async call<S extends z.ZodType>(
    method: string,
    path: string,
    reply: S | undefined,
    body?: unknown,
  ): Promise<HttpResult<z.infer<S>>> {
    const token = await this.deps.token().catch(() => null);
    if (!token) return { ok: false, status: 401, error: { code: "UNAUTHORIZED", message: "no token" } };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.deps.timeoutMs);
    try {
      const res = await this.deps.fetch(`${this.deps.baseUrl()}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: controller.signal,
      });
      const text = await res.text();
      const json: unknown = text ? JSON.parse(text) : undefined;
      if (!res.ok) {
        const parsed = HttpErrorReply.safeParse(json);
        const retryAfter = Number(res.headers.get("retry-after"));
        const error: ErrorBody = parsed.success
          ? { code: parsed.data.error.code, message: parsed.data.error.message ?? res.statusText }
          : { code: res.status >= 500 ? "UNAVAILABLE" : "INTERNAL", message: `HTTP ${res.status}` };
        if (Number.isFinite(retryAfter) && retryAfter > 0) error.retryAfterMs = retryAfter * 1000;
        return { ok: false, status: res.status, error };
      }
      if (!reply) return { ok: true, status: res.status, data: undefined as z.infer<S> };
      const parsed = reply.safeParse(json);
      if (!parsed.success) {
        return { ok: false, status: res.status, error: { code: "INTERNAL", message: `malformed reply to ${method} ${path}` } };
      }
      return { ok: true, status: res.status, data: parsed.data };
    } catch (err) {
      return { ok: false, status: 0, error: { code: "UNAVAILABLE", message: `HTTP ${method} ${path}: ${(err as Error).message}` } };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A streamed NDJSON answer (the exports): once the headers are in, the lines are read as they
   * arrive (the client's memory holds one chunk, not the whole export) and each is validated.
   * The timeout covers the wait for the headers only; a line that is not an export line ends
   * the iteration with an error, as does a stream cut before its `end` line.
   */
  async lines(path: string): Promise<HttpResult<AsyncIterable<ExportLine>>> {
    const token = await this.deps.token().catch(() => null);
    if (!token) return { ok: false, status: 401, error: { code: "UNAUTHORIZED", message: "no token" } };
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.deps.timeoutMs);
    let res: Response;
    try {
      res = await this.deps.fetch(`${this.deps.baseUrl()}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    } catch (err) {
      return { ok: false, status: 0, error: { code: "UNAVAILABLE", message: `HTTP GET ${path}: ${(err as Error).message}` } };
    } finally {
      clearTimeout(timer);
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      const parsed = HttpErrorReply.safeParse(text ? JSON.parse(text) : undefined);
      const error: ErrorBody = parsed.success
        ? { code: parsed.data.error.code, message: parsed.data.error.message ?? res.statusText }
        : { code: res.status >= 500 ? "UNAVAILABLE" : "INTERNAL", message: `HTTP ${res.status}` };
      return { ok: false, status: res.status, error };
    }
    return { ok: true, status: res.status, data: readLines(res.body) };
  }

  listConversations(cursor?: string) {
    const q = cursor ? `?cursor=${encodeURIComponent(cursor)}&limit=200` : "?limit=200";
    return this.call("GET", `/v1/conversations${q}`, HttpRoutes.listConversations.reply);
  }
  createConversation(body: z.input<typeof HttpRoutes.createConversation.body>) {
    return this.call("POST", "/v1/conversations", HttpRoutes.createConversation.reply, body);
  }
  getConversation(id: string) {
    return this.call("GET", `/v1/conversations/${encodeURIComponent(id)}`, HttpRoutes.getConversation.reply);
  }
  renameConversation(id: string, title: string) {
    return this.call("PATCH", `/v1/conversations/${encodeURIComponent(id)}`, HttpRoutes.renameConversation.reply, { title });
  }
  setRetention(id: string, retentionDays: number | null) {
    return this.call("PATCH", `/v1/conversations/${encodeURIComponent(id)}`, HttpRoutes.renameConversation.reply, { retentionDays });
  }
  exportMe() {
    return this.lines(HttpRoutes.exportMe.url);
  }
  exportUser(userId: string) {
    return this.lines(`/v1/admin/users/${encodeURIComponent(userId)}/export`);
  }
  eraseUser(userId: string) {
    return this.call("DELETE", `/v1/admin/users/${encodeURIComponent(userId)}`, HttpRoutes.eraseUser.reply);
  }
  getJob(id: string) {
    return this.call("GET", `/v1/admin/jobs/${encodeURIComponent(id)}`, HttpRoutes.getJob.reply);
  }
  addMembers(id: string, userIds: string[]) {
    return this.call("POST", `/v1/conversations/${encodeURIComponent(id)}/members`, HttpRoutes.addMembers.reply, { userIds });
  }
  removeMember(id: string, userId: string) {
    return this.call("DELETE", `/v1/conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`, undefined);
  }
  sendMessage(conversationId: string, body: z.input<typeof HttpRoutes.sendMessage.body>) {
    return this.call("POST", `/v1/conversations/${encodeURIComponent(conversationId)}/messages`, HttpRoutes.sendMessage.reply, body);
  }
  listBlocks() {
    return this.call("GET", "/v1/blocks", HttpRoutes.listBlocks.reply);
  }
  block(userId: string) {
    return this.call("PUT", `/v1/blocks/${encodeURIComponent(userId)}`, undefined);
  }
  unblock(userId: string) {
    return this.call("DELETE", `/v1/blocks/${encodeURIComponent(userId)}`, undefined);
  }
  mute(conversationId: string, until?: string) {
    return this.call("PUT", `/v1/conversations/${encodeURIComponent(conversationId)}/mute`, undefined, until ? { until } : {});
  }
  unmute(conversationId: string) {
    return this.call("DELETE", `/v1/conversations/${encodeURIComponent(conversationId)}/mute`, undefined);
  }
  report(messageId: string, body: z.input<typeof HttpRoutes.reportMessage.body>) {
    return this.call("POST", `/v1/messages/${encodeURIComponent(messageId)}/report`, HttpRoutes.reportMessage.reply, body);
  }
  adminReports(options: { status?: "open" | "resolved"; cursor?: string; limit?: number }) {
    return this.call("GET", `/v1/admin/reports${query(options)}`, HttpRoutes.adminReports.reply);
  }
  adminResolve(reportId: string, action: z.input<typeof HttpRoutes.adminResolveReport.body>["action"]) {
    return this.call("POST", `/v1/admin/reports/${encodeURIComponent(reportId)}/resolve`, HttpRoutes.adminResolveReport.reply, { action });
  }
  adminBan(userId: string, body: z.input<typeof HttpRoutes.adminBan.body>) {
    return this.call("PUT", `/v1/admin/users/${encodeURIComponent(userId)}/ban`, undefined, body);
  }
  adminUnban(userId: string) {
    return this.call("DELETE", `/v1/admin/users/${encodeURIComponent(userId)}/ban`, undefined);
  }
  adminAudit(options: { cursor?: string; limit?: number }) {
    return this.call("GET", `/v1/admin/audit${query(options)}`, HttpRoutes.adminAudit.reply);
  }
  search(q: string, options: { conversationId?: string; limit?: number }) {
    const params = new URLSearchParams({ q });
    if (options.conversationId) params.set("conversationId", options.conversationId);
    if (options.limit) params.set("limit", String(options.limit));
    return this.call("GET", `/v1/search?${params.toString()}`, HttpRoutes.search.reply);
  }
}

/** `?a=1&b=2` from the defined options, or "" when there are none. */
function query(options: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(options)) if (v !== undefined) params.set(k, String(v));
  const q = params.toString();
  return q ? `?${q}` : "";
}

/** NDJSON lines of a streamed body, each validated as an export line; a cut stream (no `end` line) throws. */
async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<ExportLine> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let buffered = "";
  let ended = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!text.trim()) continue;
        const line = ExportLineSchema.parse(JSON.parse(text));
        if (line.type === "end") ended = true;
        yield line;
      }
      if (done) break;
    }
  } finally {
    reader.releaseLock();
  }
  if (!ended) throw new Error("the export was cut before its end line; ask again");
}
