import { SignJWT, UnsecuredJWT } from "jose";

export type HmacAlgorithm = "HS256" | "HS384" | "HS512";

export interface SignTokenOptions {
  /** The user id (`sub`). */
  sub: string;
  /** Display name claim. */
  name?: string;
  /** HMAC secret (the services' JWT_SECRET). */
  secret: string;
  /** Lifetime from now (default 3600 s); ignored when `exp` is given. */
  expiresInSeconds?: number;
  /** Absolute expiry in seconds since the epoch; `null` leaves `exp` out (a token the server must refuse). */
  exp?: number | null;
  iss?: string;
  aud?: string | string[];
  /** Default HS256. */
  alg?: HmacAlgorithm;
  /** Any further claims. */
  claims?: Record<string, unknown>;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Signs a JWT the way an identity provider would for Parley. */
export async function signToken(options: SignTokenOptions): Promise<string> {
  const jwt = new SignJWT({ ...options.claims, ...(options.name !== undefined ? { name: options.name } : {}) })
    .setProtectedHeader({ alg: options.alg ?? "HS256", typ: "JWT" })
    .setSubject(options.sub)
    .setIssuedAt();
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? nowSeconds() + (options.expiresInSeconds ?? 3600));
  if (options.iss !== undefined) jwt.setIssuer(options.iss);
  if (options.aud !== undefined) jwt.setAudience(options.aud);
  return jwt.sign(new TextEncoder().encode(options.secret));
}

type Base = Omit<SignTokenOptions, "exp" | "expiresInSeconds">;

/** Expired `secondsAgo` seconds ago (default 60): the server answers AUTH_EXPIRED. */
export function expiredToken(options: Base & { secondsAgo?: number }): Promise<string> {
  return signToken({ ...options, exp: nowSeconds() - (options.secondsAgo ?? 60) });
}

/** Correctly signed but without `exp`: the server answers AUTH_INVALID. */
export function tokenWithoutExp(options: Base): Promise<string> {
  return signToken({ ...options, exp: null });
}

/** Signed with a different secret: AUTH_INVALID. */
export function tokenWithWrongSecret(options: SignTokenOptions): Promise<string> {
  return signToken({ ...options, secret: `${options.secret}-wrong` });
}

/** `alg: none`, unsigned, otherwise valid: must be refused (AUTH_INVALID). */
export function unsignedToken(options: Pick<SignTokenOptions, "sub" | "name" | "expiresInSeconds">): string {
  return new UnsecuredJWT(options.name !== undefined ? { name: options.name } : {})
    .setSubject(options.sub)
    .setIssuedAt()
    .setExpirationTime(nowSeconds() + (options.expiresInSeconds ?? 3600))
    .encode();
}

/** Strings that are not JWTs at all: each must be refused with AUTH_INVALID, never crash. */
export const MALFORMED_TOKENS: readonly string[] = [
  "not-a-jwt",
  "a.b.c",
  "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", // two segments
  "eyJhbGciOiJIUzI1NiJ9.!!!.sig",
  " ",
  "Bearer ",
  "x".repeat(10_000),
];

/** Alters one character of the signature, so the token no longer verifies. */
export function tamperedToken(token: string): string {
  const last = token.at(-2) === "A" ? "B" : "A";
  return `${token.slice(0, -2)}${last}${token.slice(-1)}`;
}
