export { buildApp, type Gateway, type GatewayConfig, type GatewayDeps } from "./app.js";
export { createTokenVerifier, AuthError, type TokenVerifier, type VerifiedToken } from "./auth/token-verifier.js";
export { GatewayEnv, loadEnv, DEV_JWT_SECRET } from "./env.js";
