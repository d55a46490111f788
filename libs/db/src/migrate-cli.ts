import { runMigrations } from "./migrate.js";

// The one entry point that reads the environment: `npm run db:migrate` is configured by DATABASE_URL.
const url = process.env.DATABASE_URL;
if (!url) {
  process.stderr.write("db:migrate: DATABASE_URL is not set (for example postgres://parley:parley@127.0.0.1:5432/parley)\n");
  process.exit(2);
}
const started = Date.now();
runMigrations(url).then(
  () => process.stdout.write(`db:migrate: schema is up to date (${Date.now() - started} ms)\n`),
  (err: unknown) => {
    process.stderr.write(`db:migrate: failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
