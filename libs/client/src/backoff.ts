export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/**
 * "Full jitter" (AWS architecture blog): a uniformly random delay in [0, min(max, base · 2^attempt)).
 * Thousands of clients that lost the same gateway spread their reconnections over the whole
 * window instead of arriving together.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
