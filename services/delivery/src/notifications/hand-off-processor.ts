import { UnrecoverableError, type Job, type JobsOptions, type Queue } from "bullmq";
import { JobCatalog, type CommittedMessage, type JobData, type Keyspace } from "@parley/bus";
import { pushCandidates, type Database } from "@parley/db";
import type { Logger, Redis } from "@parley/runtime";
import type { DeliveryMetrics } from "../metrics.js";
import { onlineUsers } from "../presence-reader.js";
import type { CollapseStore } from "./collapse-store.js";
import { windowJobId } from "./window-job-id.js";

export interface HandOffDeps {
  database: Database;
  redis: Redis;
  keyspace: Keyspace;
  store: CollapseStore;
  pushQueue: Queue;
  metrics: DeliveryMetrics;
  logger: Logger;
  collapseMs: number;
  attempts: number;
  backoffMs: number;
}

interface Pair {
  conversationId: string;
  userId: string;
  seqs: number[];
}

/**
 * One committed batch from the persister: finds the members each new message concerns (not its
 * sender, not one who already read past it, not one who muted the conversation or blocks the
 * sender) who have no live socket, counts the messages into
 * their (conversation, recipient) windows, and schedules one push job per window opened, after
 * the collapse delay. Batches may run at once and in any order (several replicas, concurrency
 * above 1): each seq is counted once whatever the order (collapse-store.ts).
 */
export function createHandOffProcessor(deps: HandOffDeps) {
  return async (job: Job<unknown>): Promise<{ windows: number; collapsed: number }> => {
    const parsed = JobCatalog.notify.data.safeParse(job.data);
    if (!parsed.success) {
      deps.logger.error({ jobId: job.id, issues: parsed.error.issues.slice(0, 3) }, "notify job has invalid data");
      throw new UnrecoverableError("invalid notify job data");
    }
    const byConversation = new Map<string, CommittedMessage[]>();
    for (const m of parsed.data.messages) {
      const list = byConversation.get(m.conversationId) ?? [];
      list.push(m);
      byConversation.set(m.conversationId, list);
    }
    const senders = [...new Set(parsed.data.messages.map((m) => m.senderId))];
    const members = await pushCandidates(deps.database.sql, [...byConversation.keys()], senders);

    const pairs: Pair[] = [];
    let muted = 0;
    let blocked = 0;
    for (const member of members) {
      let pair: Pair | undefined;
      for (const m of byConversation.get(member.conversationId) ?? []) {
        if (m.senderId === member.userId || m.seq <= member.readSeq) continue;
        // A muted conversation or a blocked sender notifies no one (protocol.md, "Safety"); the
        // message is delivered and counted unread all the same.
        if (member.muted) {
          muted++;
          continue;
        }
        if (member.blocks.length > 0 && member.blocks.includes(m.senderId)) {
          blocked++;
          continue;
        }
        if (!pair) pairs.push((pair = { conversationId: member.conversationId, userId: member.userId, seqs: [] }));
        pair.seqs.push(m.seq);
      }
    }
    if (muted > 0) deps.metrics.notificationsSkipped.inc({ reason: "muted" }, muted);
    if (blocked > 0) deps.metrics.notificationsSkipped.inc({ reason: "blocked" }, blocked);
    if (pairs.length === 0) return { windows: 0, collapsed: 0 };

    const online = await onlineUsers(deps.redis, deps.keyspace, [...new Set(pairs.map((p) => p.userId))]);
    const offline = pairs.filter((p) => !online.has(p.userId));
    if (pairs.length > offline.length) deps.metrics.notificationsSkipped.inc({ reason: "online" }, pairs.length - offline.length);
    for (const p of offline) p.seqs.sort((a, b) => a - b);

    const results = await deps.store.addMany(offline);
    const arm: { name: "push"; data: JobData<"push">; opts: JobsOptions }[] = [];
    let opened = 0;
    let collapsed = 0;
    results.forEach((r, i) => {
      const p = offline[i]!;
      if (r.status === "opened") opened++;
      // Messages beyond the first of a new window, and every message of an open window.
      collapsed += r.status === "opened" ? p.seqs.length - 1 : r.status === "none" ? 0 : p.seqs.length;
      if (r.status === "opened" || r.status === "rearm") {
        arm.push({
          name: "push",
          data: { conversationId: p.conversationId, recipientId: p.userId, window: r.window },
          opts: {
            ...JobCatalog.push.options,
            jobId: windowJobId(p.conversationId, p.userId, r.window),
            delay: deps.collapseMs,
            attempts: deps.attempts,
            backoff: { type: "exponential", delay: deps.backoffMs },
          },
        });
      }
    });
    // A failure here fails the job: its re-run re-arms the open windows (status "rearm").
    if (arm.length > 0) await deps.pushQueue.addBulk(arm);
    deps.metrics.notificationWindows.inc(opened);
    deps.metrics.notificationsCollapsed.inc(collapsed);
    return { windows: opened, collapsed };
  };
}
