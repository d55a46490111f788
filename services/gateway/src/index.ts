export { buildApp, type Gateway, type GatewayConfig, type GatewayDeps } from "./app.js";
export { createTokenVerifier, AuthError, type TokenVerifier, type VerifiedToken } from "./auth/token-verifier.js";
export { GatewayEnv, loadEnv, DEV_JWT_SECRET } from "./env.js";
export { createSendRateLimiter, ReservingRateLimiter, type SendRateLimiter, type ReservationOptions } from "./send/rate-limiter.js";
export { createTokenBucket, type TokenBucket } from "./send/token-bucket.js";
