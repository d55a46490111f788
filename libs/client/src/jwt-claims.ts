/** What the SDK reads from its own token (unverified: the server verifies; this only schedules and labels). */
export interface TokenClaims {
  sub: string;
  name?: string;
  /** Seconds since the epoch. */
  exp?: number;
  iat?: number;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url → text, without atob or Buffer (older React Native runtimes lack atob). */
function decodeBase64Url(input: string): string {
  const bytes: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of input.replace(/[=\s]/g, "")) {
    const v = B64.indexOf(ch === "+" ? "-" : ch === "/" ? "_" : ch);
    if (v < 0) throw new Error("not base64url");
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  // UTF-8 through decodeURIComponent: TextDecoder is missing in some React Native runtimes.
  return decodeURIComponent(bytes.map((b) => `%${b.toString(16).padStart(2, "0")}`).join(""));
}

/** Reads `sub`, `name`, `exp`, `iat` from a JWT's payload; undefined when it is not a JWT. */
export function readClaims(token: string): TokenClaims | undefined {
  const part = token.split(".")[1];
  if (!part) return undefined;
  try {
    const payload = JSON.parse(decodeBase64Url(part)) as Record<string, unknown>;
    if (typeof payload.sub !== "string") return undefined;
    return {
      sub: payload.sub,
      ...(typeof payload.name === "string" ? { name: payload.name } : {}),
      ...(typeof payload.exp === "number" ? { exp: payload.exp } : {}),
      ...(typeof payload.iat === "number" ? { iat: payload.iat } : {}),
    };
  } catch {
    // Not a JWT we can read: the server will say what is wrong with it at the handshake.
    return undefined;
  }
}
