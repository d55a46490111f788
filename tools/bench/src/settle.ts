const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `read` stops changing for `quietMs` (at most `maxMs`), e.g. the persister's
 * stored-message counter between steps. Resolves false when it was still changing at `maxMs`.
 */
export async function settleOn(read: () => Promise<number>, quietMs = 1500, maxMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + maxMs;
  let last = await read();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(250);
    const now = await read();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return true;
  }
  return false;
}
