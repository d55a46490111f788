import type { Sql } from "postgres";

/**
 * Holds a conversation's row `FOR UPDATE` in a transaction of the test's own (as an operator's
 * forgotten transaction would): a persister's commit skips that conversation and parks it
 * (migration 0016) until the lock goes. Resolves once the lock is held; call the result to let go.
 */
export async function holdConversationLock(sql: Sql, conversationId: string): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const holding = new Promise<void>((r) => (locked = r));
  const tx = sql.begin(async (tx) => {
    await tx`select 1 from conversations where id = ${conversationId} for update`;
    locked();
    await released;
  });
  await Promise.race([holding, tx]);
  return async () => {
    release();
    await tx;
  };
}
