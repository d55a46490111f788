import type { Job } from "bullmq";
import { UnrecoverableError } from "bullmq";
import { JobCatalog, RoomEmitter, userRoom, type Keyspace } from "@parley/bus";
import {
  clearUserReportNotes,
  deleteUserBlocks,
  deleteUserMembershipsBatch,
  deleteUserReactionsBatch,
  eraseMessagesBatch,
  replaceDisplayName,
  type Database,
} from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import { z } from "zod";
import { tombstoneAnnouncer } from "../tombstones/announce-tombstones.js";
import type { ErasureMetrics } from "./erasure-metrics.js";

/** What `GET /v1/admin/jobs/:id` shows of an erasure while it runs, and where a re-run goes on from. */
export const ErasureProgressSchema = z.object({
  phase: z.enum(["profile", "memberships", "messages", "reactions", "done"]),
  messages: z.number().int().nonnegative(),
  /** The last message batch's end (a client message id): a worker that takes the job over starts after it. */
  cursor: z.string().optional(),
});
export type ErasureProgress = z.infer<typeof ErasureProgressSchema>;

export interface EraseUserDeps {
  database: Database;
  publishRedis: Redis;
  keyspace: Keyspace;
  metrics: ErasureMetrics;
  logger: Logger;
  batchSize: number;
}

/**
 * One erasure (DELETE /v1/admin/users/:userId), in steps that are each idempotent and bounded:
 * 1. the display name replaced;
 * 2. memberships removed, batch by batch, every gateway told to drop its cached answers, and
 *    the user's sockets closed on every pod (they can neither hear nor send any more); blocks
 *    in both directions removed, and the notes of the reports the user filed;
 * 3. every message the user sent made a tombstone, batch by batch in the order of the
 *    (sender, client message id) index, the progress saved after each batch;
 * 4. the user's reactions on others' messages removed.
 * A worker killed anywhere leaves the job to another (BullMQ's stalled check, ERASURE_LOCK_MS),
 * which goes on from the saved progress; a step done twice changes nothing.
 */
export function createEraseUserProcessor(deps: EraseUserDeps) {
  const emitter = new RoomEmitter(deps.publishRedis, deps.keyspace.adapterChannelPrefix);
  const announce = tombstoneAnnouncer(deps, "erasure");
  const { sql } = deps.database;
  return async (job: Job<unknown>): Promise<ErasureProgress> => {
    const parsed = JobCatalog.erasure.data.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError("invalid erasure job data");
    const { userId } = parsed.data;
    const saved = ErasureProgressSchema.safeParse(job.progress);
    let progress: ErasureProgress = saved.success ? saved.data : { phase: "profile", messages: 0 };
    const report = async (p: ErasureProgress) => {
      progress = p;
      await job.updateProgress(p);
    };

    await replaceDisplayName(sql, userId);
    await report({ ...progress, phase: progress.phase === "profile" ? "memberships" : progress.phase });
    for (;;) {
      const left = await deleteUserMembershipsBatch(sql, userId, deps.batchSize);
      if (left.length === 0) break;
      for (const conversationId of left) {
        await deps.publishRedis.publish(deps.keyspace.membershipChannel, JSON.stringify({ conversationId, userIds: [userId] }));
      }
    }
    await emitter.disconnectRooms([userRoom(userId)]);
    await deleteUserBlocks(sql, userId);
    await clearUserReportNotes(sql, userId);

    if (progress.phase === "memberships") await report({ ...progress, phase: "messages" });
    if (progress.phase === "messages") {
      let cursor = progress.cursor;
      let messages = progress.messages;
      for (;;) {
        const batch = await eraseMessagesBatch(sql, userId, cursor, deps.batchSize);
        messages += batch.covered;
        deps.metrics.tombstoned.inc(batch.tombstoned);
        // Other members' devices replace what they hold, as for a deletion.
        await announce(batch.messages);
        cursor = batch.next;
        if (cursor === undefined) break;
        await report({ phase: "messages", messages, cursor });
      }
      await report({ phase: "reactions", messages });
    }
    while ((await deleteUserReactionsBatch(sql, userId, deps.batchSize)) > 0);
    // Sockets again: one that connected while this ran (its handshake read the old memberships).
    await emitter.disconnectRooms([userRoom(userId)]);
    const done: ErasureProgress = { phase: "done", messages: progress.messages };
    await report(done);
    deps.metrics.erasures.inc();
    deps.logger.info({ jobId: job.id, messages: done.messages }, "user erased");
    return done;
  };
}
