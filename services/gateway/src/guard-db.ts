import { isTransientDbError } from "@parley/db";
import { ParleyError } from "@parley/protocol";

/**
 * Bounds a database call on a request path: an outage is answered UNAVAILABLE within the
 * contract's 2 s instead of hanging until postgres.js gives up; other failures are INTERNAL.
 */
export async function guardDb<T>(work: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ParleyError("UNAVAILABLE", "the database is not answering; retry later")), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (err instanceof ParleyError) throw err;
    if (isTransientDbError(err)) throw new ParleyError("UNAVAILABLE", "the database is out of reach; retry later");
    throw err;
  } finally {
    clearTimeout(timer);
    // The losing promise may still reject later; it has been answered for.
    work.catch(() => {});
  }
}
