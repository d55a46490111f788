import type { IncomingMessage } from "node:http";

/** The cookie that carries the no-JavaScript pages' token (development sign-in only). */
export const TOKEN_COOKIE = "parley_basic_token";

/** Every cookie of the request by name (the first of a repeated name wins). */
export function readCookies(req: IncomingMessage): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const pair of (req.headers.cookie ?? "").split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    if (!name || cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(pair.slice(eq + 1).trim()));
    } catch {
      // A malformed value is ignored like a missing cookie: the user signs in again.
    }
  }
  return cookies;
}

/**
 * The token cookie. HttpOnly (no script reads it), SameSite=Lax (another site's form cannot
 * post with it), scoped to the no-JavaScript pages, and no longer-lived than the token.
 */
export function tokenCookie(base: string, token: string, maxAgeSeconds: number): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=${base}; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}`;
}

export function clearTokenCookie(base: string): string {
  return `${TOKEN_COOKIE}=; Path=${base}; HttpOnly; SameSite=Lax; Max-Age=0`;
}
