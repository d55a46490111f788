import { createClient, type ConnectionState, type ParleyClient } from "@parley/client";
import type { FaultCluster } from "./fault-cluster.js";

export interface LoadOptions {
  /** Users, one SDK client each, all members of every conversation. */
  users: number;
  conversations: number;
  /** Sends per second over the whole cluster, open loop: due on schedule whatever the answers. */
  ratePerSecond: number;
  /** Over the harness's client options (quick backoff; a page large enough for a sync to catch up). */
  client?: Partial<Parameters<typeof createClient>[0]>;
}

/** One send: when it was called, and what came of it. */
export interface SendRecord {
  conversationId: string;
  senderId: string;
  clientMessageId: string;
  calledAt: number;
  /** The stored seq once acked (`sent`); a refusal's code once `failed`. */
  seq?: number;
  ackedAt?: number;
  failed?: string;
}

export interface LoadClient {
  userId: string;
  client: ParleyClient;
  /** Every seq this client has been given, per conversation (live, sync or gap fill). */
  seen: Map<string, Set<number>>;
  /** Each state change with its time: when it went offline and came back. */
  states: { at: number; state: ConnectionState }[];
  /** What the SDK reported handling by itself (`error` events): operation and code. */
  errors: string[];
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}

/**
 * Load as the benchmark makes it, through the SDK a real app uses: every user's client is
 * online through the load balancer, and sends are due on an open-loop schedule (a stall
 * does not slow the schedule down; it shows as latency and as sends owed). Every send and
 * every seq each client is given are recorded for the verifier.
 */
export async function startLoad(cluster: FaultCluster, options: LoadOptions) {
  const clients: LoadClient[] = [];
  for (let u = 0; u < options.users; u++) {
    const userId = `load-${u}`;
    const client = createClient({
      url: cluster.clientUrls,
      getToken: () => cluster.token(userId),
      reconnect: { baseMs: 200, maxMs: 2_000 },
      retry: { baseMs: 200, maxMs: 2_000 },
      httpFallbackAfterMs: 0,
      pageSize: 500, // the contract's largest page (sync and history refuse more with VALIDATION)
      receiptDelayMs: 300,
      ...options.client,
    });
    const lc: LoadClient = { userId, client, seen: new Map(), states: [{ at: Date.now(), state: client.state }], errors: [] };
    client.on("error", (e) => lc.errors.push(`${e.operation}: ${e.error.code}`));
    client.on("state", (change) => lc.states.push({ at: Date.now(), state: change.current }));
    client.on("message", (m) => {
      let set = lc.seen.get(m.conversationId);
      if (!set) lc.seen.set(m.conversationId, (set = new Set()));
      set.add(m.seq);
    });
    clients.push(lc);
  }
  await until(() => clients.every((c) => c.client.state === "online"), "every load client online", 30_000);

  const owner = clients[0]!;
  const conversationIds: string[] = [];
  for (let c = 0; c < options.conversations; c++) {
    const conv = await owner.client.conversations.create({ kind: "group", memberIds: clients.slice(1).map((x) => x.userId), title: `load ${c}` });
    conversationIds.push(conv.id);
  }
  // Every client's view of every conversation, so its store (and sync cursors) cover them all.
  for (const c of clients) for (const id of conversationIds) c.client.conversation(id);
  // Sends start once every view holds its conversation's newest page, as in an app that has them open.
  await until(() => clients.every((c) => conversationIds.every((id) => c.client.conversation(id).loaded)), "every view loaded", 30_000);

  const sends: SendRecord[] = [];
  const interval = 1000 / options.ratePerSecond;
  const start = performance.now();
  let i = 0;
  let running = true;
  const tick = () => {
    if (!running) return;
    const now = performance.now();
    while (start + i * interval <= now) {
      const sender = clients[i % clients.length]!;
      const conversationId = conversationIds[Math.floor(i / clients.length) % conversationIds.length]!;
      const out = sender.client.send(conversationId, `load ${i}`);
      const record: SendRecord = { conversationId, senderId: sender.userId, clientMessageId: out.clientMessageId, calledAt: Date.now() };
      sends.push(record);
      void out.settled.then((o) => {
        if (o.status === "sent" && o.message) {
          record.seq = o.message.seq;
          record.ackedAt = Date.now();
        } else record.failed = o.error?.code ?? o.status;
      });
      i++;
    }
    setTimeout(tick, Math.max(1, Math.min(20, start + i * interval - performance.now())));
  };
  tick();

  return {
    clients,
    conversationIds,
    sends,
    /** Stops the schedule; resolves once every send is settled, or after `settleMs` (what is left counts as owed). */
    async stop(settleMs = 60_000): Promise<{ owed: number }> {
      running = false;
      await until(() => sends.every((s) => s.ackedAt !== undefined || s.failed !== undefined), "every send settled", settleMs).catch(() => {});
      return { owed: sends.filter((s) => s.ackedAt === undefined && s.failed === undefined).length };
    },
    /** Sends called after `at`: how long until the first of them was acked (the service is back), or undefined. */
    firstAckAfter(at: number): number | undefined {
      const acked = sends.filter((s) => s.calledAt >= at && s.ackedAt !== undefined).map((s) => s.ackedAt! - at);
      return acked.length ? Math.min(...acked) : undefined;
    },
    async close(): Promise<void> {
      running = false;
      await Promise.allSettled(clients.map((c) => c.client.close()));
    },
  };
}

export type Load = Awaited<ReturnType<typeof startLoad>>;
