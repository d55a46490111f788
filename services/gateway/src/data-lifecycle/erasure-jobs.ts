import { randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import { JobCatalog } from "@parley/bus";
import { ParleyError, type AdminJob } from "@parley/protocol";

/**
 * Erasure jobs on the `erasure` queue (the delivery service runs them) and their state for
 * `GET /v1/admin/jobs/:id`. Each request is a job of its own (ids `erasure-<uuid>`): an erasure
 * run again after the user came back erases what is new; running it on an erased user changes
 * nothing and finishes at once.
 */
export class ErasureJobs {
  constructor(private readonly queue: Queue) {}

  async start(userId: string, requestedBy: string): Promise<string> {
    const jobId = `erasure-${randomUUID()}`;
    try {
      await this.queue.add("erasure", { userId, requestedBy }, { ...JobCatalog.erasure.options, jobId });
    } catch (err) {
      throw new ParleyError("UNAVAILABLE", `the erasure could not be queued: ${err instanceof Error ? err.message : String(err)}`);
    }
    return jobId;
  }

  async get(id: string): Promise<AdminJob | undefined> {
    if (!id.startsWith("erasure-")) return undefined;
    const job = await this.queue.getJob(id);
    if (!job) return undefined;
    const progress = typeof job.progress === "object" && job.progress !== null ? { ...(job.progress as Record<string, unknown>) } : {};
    // Where a re-run goes on from is the worker's business, not the admin's.
    delete progress.cursor;
    return { id, kind: "erasure", state: await job.getState(), progress };
  }
}
