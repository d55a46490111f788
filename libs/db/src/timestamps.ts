/**
 * Timestamps from raw queries. drizzle's postgres.js driver turns off postgres.js' date
 * parsing on the shared pool (it maps dates itself), so raw queries see Postgres' text form
 * ("2026-11-20 22:59:03.123456+00", the session runs in UTC); both forms are accepted.
 */
export function toIso(value: Date | string): string {
  if (value instanceof Date) return value.toISOString();
  const normalized = value.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00");
  const date = new Date(normalized);
  if (Number.isNaN(date.getTime())) throw new Error(`unreadable timestamp from Postgres: ${value}`);
  return date.toISOString();
}
