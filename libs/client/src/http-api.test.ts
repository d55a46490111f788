import { describe, expect, it } from "vitest";
import { HttpApi } from "./http-api.js";

// What the outbox backs off on when a send goes over HTTP: the gateway's 503 (refused before
// queuing by admission control) or 429 carries Retry-After in whole seconds.
function api(status: number, headers: Record<string, string>, body: unknown) {
  return new HttpApi({
    baseUrl: () => "http://gateway.test",
    token: async () => "token",
    timeoutMs: 1_000,
    fetch: (async () => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })) as typeof fetch,
  });
}

const send = { clientMessageId: "0190f0c8-0000-7000-8000-000000000003", body: "hi" };

describe("HttpApi refusals", () => {
  it("reads a 503's Retry-After as retryAfterMs", async () => {
    const result = await api(503, { "retry-after": "2" }, { error: { code: "UNAVAILABLE", message: "retry later" } }).sendMessage("0190f0c8-0000-7000-8000-000000000002", send);
    expect(result).toEqual({ ok: false, status: 503, error: { code: "UNAVAILABLE", message: "retry later", retryAfterMs: 2_000 } });
  });

  it("leaves retryAfterMs out of a 503 without Retry-After (a time-out: the retry settles it)", async () => {
    const result = await api(503, {}, { error: { code: "UNAVAILABLE", message: "timed out" } }).sendMessage("0190f0c8-0000-7000-8000-000000000002", send);
    expect(result).toEqual({ ok: false, status: 503, error: { code: "UNAVAILABLE", message: "timed out" } });
  });
});
