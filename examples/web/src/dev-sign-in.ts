import { z } from "zod";

/**
 * Who is signed in on this tab (sessionStorage: each tab can be another user; a reload keeps it).
 * `admin`: the token carries `parley_role: "admin"` (the development sign-in's checkbox), which
 * opens the moderation page.
 */
const DevUserSchema = z.object({ userId: z.string(), name: z.string(), admin: z.boolean().optional() });
export type DevUser = z.infer<typeof DevUserSchema>;

/** The answer of the web server's `/dev/token`. */
const DevTokenReply = z.object({ token: z.string() });

const KEY = "parley-web:user";

export function rememberedUser(): DevUser | undefined {
  try {
    const raw = sessionStorage.getItem(KEY);
    const value = DevUserSchema.safeParse(raw ? JSON.parse(raw) : undefined);
    if (value.success) return value.data;
  } catch {
    // A damaged entry: sign in again.
  }
  return undefined;
}

export function rememberUser(user: DevUser | undefined): void {
  if (user) sessionStorage.setItem(KEY, JSON.stringify(user));
  else sessionStorage.removeItem(KEY);
}

/**
 * The SDK's token provider for a development user: asks the web server's /dev/token (which
 * exists only on development servers). A real app asks its identity provider here.
 * Throws when the endpoint cannot be reached: the SDK retries with backoff.
 */
export function devTokenProvider(user: DevUser): () => Promise<string> {
  return async () => {
    const res = await fetch("/dev/token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: user.userId, name: user.name, ...(user.admin ? { role: "admin" } : {}) }),
    });
    if (!res.ok) throw new Error(`dev sign-in answered ${res.status}`);
    return DevTokenReply.parse(await res.json()).token;
  };
}
