// Development defaults shared by `npm start` and `npm run token` (`npm run chat` reads the same secret from @parley/runtime).
// Never used in production: a production start (NODE_ENV=production) of any service
// refuses to run without a JWT key of its own.
export const DEV_JWT_SECRET = "parley-dev-secret-change-me";

export function jwtSecret() {
  return process.env.JWT_SECRET || DEV_JWT_SECRET;
}
