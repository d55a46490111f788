import { Worker, UnrecoverableError, type Job } from "bullmq";
import { conversationRoom, JobCatalog, RoomEmitter, userRoom } from "@parley/bus";
import { applyDelivered, RECEIPT_AUDIENCE_MAX_MESSAGES, type MovedWatermark } from "@parley/db";
import { BULLMQ_WORKER_METRICS, pipelineAcrossSlots } from "@parley/runtime";
import type { DeliveryConfig } from "../env.js";
import type { DeliveryContext, DeliveryModule } from "../module.js";
import { workersModule } from "../module.js";
import { ReceiptBatcher } from "./receipt-batcher.js";

/** Jobs taken at once (merged into one statement while the previous one runs); watermarks in one statement at most. */
export type ReceiptsConfig = DeliveryConfig["receipts"];

/**
 * `message:delivered` watermarks: the gateways batch them into `receipts` jobs; this applies
 * them to Postgres (monotonic, clamped) and sends a `receipt` to the conversation's members
 * for each watermark that actually moved, and for no other. In a conversation above
 * `roomMaxMembers` members the receipt goes only to the senders of the messages it passed over
 * (docs/decisions/0035-receipts-in-big-rooms.md): one message there would otherwise cost a
 * receipt per member sent to every member.
 */
export function createReceiptsModule(ctx: DeliveryContext, config: ReceiptsConfig): DeliveryModule {
  const { metrics, logger } = ctx;
  const emitter = new RoomEmitter(ctx.publishRedis, ctx.keyspace.adapterChannelPrefix);

  const audience = { aboveMembers: config.roomMaxMembers, maxMessages: RECEIPT_AUDIENCE_MAX_MESSAGES };
  const emit = (moved: MovedWatermark[]) => {
    if (moved.length === 0) return;
    const at = new Date().toISOString();
    // Rooms' channels sit in many slots: on a cluster the publishes go one by one (pipelineAcrossSlots).
    const pipeline = pipelineAcrossSlots(ctx.publishRedis);
    let narrowed = 0;
    for (const w of moved) {
      const receipt = { conversationId: w.conversationId, userId: w.userId, kind: "delivered" as const, seq: w.seq, at };
      // One publish per room: a user's room has its own interest-routed channel.
      const rooms = w.audience ? w.audience.map(userRoom) : [conversationRoom(w.conversationId)];
      if (w.audience) narrowed++;
      for (const room of rooms) pipeline.spublish(emitter.channelOf(room), emitter.encode(room, "receipt", receipt));
    }
    if (narrowed > 0) metrics.receiptsNarrowed.inc(narrowed);
    pipeline.exec().then(
      () => metrics.receiptsEmitted.inc(moved.length),
      // The watermarks are stored (members see them in the conversation); pub/sub is at-most-once.
      (err: unknown) => logger.warn({ err: String(err), receipts: moved.length }, "publishing receipts failed"),
    );
  };

  const batcher = new ReceiptBatcher({
    maxBatch: config.maxBatch,
    apply: (watermarks) => applyDelivered(ctx.database.sql, watermarks, audience),
    onApplied: (moved, applied) => {
      metrics.receiptBatchSize.observe(applied);
      metrics.receiptsApplied.inc(applied);
      metrics.receiptsMoved.inc(moved.length);
      emit(moved);
    },
  });

  const worker = new Worker(
    "receipts",
    async (job: Job<unknown>) => {
      const started = performance.now();
      const parsed = JobCatalog.receipts.data.safeParse(job.data);
      if (!parsed.success) {
        metrics.jobSeconds.observe({ queue: "receipts", outcome: "failed" }, (performance.now() - started) / 1000);
        logger.error({ jobId: job.id, issues: parsed.error.issues.slice(0, 3) }, "receipts job has invalid data");
        throw new UnrecoverableError("invalid receipts job data");
      }
      try {
        await batcher.submit(parsed.data.receipts);
        metrics.jobSeconds.observe({ queue: "receipts", outcome: "ok" }, (performance.now() - started) / 1000);
      } catch (err) {
        metrics.jobSeconds.observe({ queue: "receipts", outcome: "failed" }, (performance.now() - started) / 1000);
        throw err;
      }
    },
    { connection: ctx.workerRedis, prefix: ctx.keyspace.queuePrefix, concurrency: config.concurrency, autorun: false, metrics: BULLMQ_WORKER_METRICS },
  );
  worker.on("failed", (job, err) => logger.warn({ jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, "receipts job failed"));
  worker.on("error", (err) => logger.warn({ err: err.message }, "receipts worker error"));

  return workersModule("receipts", [worker], () => batcher.idle());
}
