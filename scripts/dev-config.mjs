// Development defaults shared by `npm start` and `npm run token` (`npm run chat` reads the same secret from @parley/runtime).
// Never used in production: a production start (NODE_ENV=production) of any service
// refuses to run without a JWT key of its own.
//
// The development secret has one home, @parley/runtime's DEV_JWT_SECRET (the gateway falls
// back to it too). These scripts read the built package, so they import it only when asked,
// after ensure-built has run.

/** The well-known development secret (@parley/runtime). */
export async function devJwtSecret() {
  const { DEV_JWT_SECRET } = await import("@parley/runtime");
  return DEV_JWT_SECRET;
}

/** JWT_SECRET when set, else the development secret. */
export async function jwtSecret() {
  return process.env.JWT_SECRET || (await devJwtSecret());
}
