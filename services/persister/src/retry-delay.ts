/**
 * Capped exponential backoff with jitter (by default 200 ms, 400 ms, … 5 s): the stream
 * reader's retries of a Redis that is away, and the entry handler's of a Postgres that is.
 */
export function retryDelayMs(attempt: number, initialMs = 200, maxMs = 5_000): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 16));
  return Math.round(base / 2 + (Math.random() * base) / 2);
}
