export { buildApp, type Gateway, type GatewayDeps } from "./app.js";
export { createTokenVerifier, AuthError, type TokenVerifier, type VerifiedToken } from "./auth/token-verifier.js";
export { jwksStateReporter } from "./auth/jwks-state.js";
export { GatewayEnv, loadConfig, loadEnv, type GatewayConfig } from "./env.js";
