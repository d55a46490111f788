import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Registry } from "prom-client";
import { startCluster, type Cluster } from "./cluster.js";

// Issue 12, point 4: members per conversation, conversations per user and member adds per
// minute are limited; anyone could put any user id into any number of new conversations, and
// the victim paid for it on every handshake, sync and presence change.

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({
    gateways: 1,
    gatewayEnv: { MAX_MEMBERS_PER_CONVERSATION: "10", MAX_CONVERSATIONS_PER_USER: "3", MEMBER_ADDS_PER_MINUTE: "500" },
  });
});
afterAll(async () => {
  await cluster?.stop();
});

async function limited(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric("parley_gateway_membership_limited_total")?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.limit), v.value]));
}

const membersOf = async (conversationId: string) =>
  (await cluster.database.sql<{ user_id: string }[]>`select user_id from members where conversation_id = ${conversationId} order by user_id`).map((r) => r.user_id);

describe("membership limits", () => {
  it("a conversation takes at most MAX_MEMBERS_PER_CONVERSATION members: past it FORBIDDEN, and no one of the refused add joins", async () => {
    const owner = await cluster.token("ml-owner");
    const conversation = await cluster.createConversation(owner, ["ml-a", "ml-b"]);
    const names = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
    const tooMany = await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/members`, { token: owner, body: { userIds: names("ml-c", 8) } });
    expect(tooMany.status).toBe(403);
    expect(tooMany.body.error).toMatchObject({ code: "FORBIDDEN", message: expect.stringContaining("at most 10 members") });
    expect(await membersOf(conversation.id)).toEqual(["ml-a", "ml-b", "ml-owner"]);
    expect((await cluster.http(0, "POST", `/v1/conversations/${conversation.id}/members`, { token: owner, body: { userIds: names("ml-c", 7) } })).status).toBe(200);
    expect(await membersOf(conversation.id)).toHaveLength(10);
    // Creating one that big is refused the same way.
    const created = await cluster.http(0, "POST", "/v1/conversations", { token: owner, body: { kind: "group", memberIds: names("ml-e", 10) } });
    expect(created.status).toBe(403);
    expect((await limited(cluster.nodes[0]!.registry)).members_per_conversation).toBe(2);
  });

  it("a user belongs to at most MAX_CONVERSATIONS_PER_USER conversations: putting a victim into more is FORBIDDEN", async () => {
    const mallory = await cluster.token("ml-mallory");
    for (let i = 0; i < 2; i++) await cluster.createConversation(mallory, ["ml-victim"], "group", `spam ${i}`);
    await cluster.createConversation(await cluster.token("ml-friend"), ["ml-victim"], "group", "real");
    const fourth = await cluster.http(0, "POST", "/v1/conversations", { token: mallory, body: { kind: "group", memberIds: ["ml-victim"] } });
    expect(fourth.status).toBe(403);
    expect(fourth.body.error.message).toContain("ml-victim");
    const spare = await cluster.createConversation(mallory, [], "group", "empty");
    const added = await cluster.http(0, "POST", `/v1/conversations/${spare.id}/members`, { token: mallory, body: { userIds: ["ml-victim"] } });
    expect(added.status).toBe(403);
    const [victim] = await cluster.database.sql<{ n: number }[]>`select count(*)::int as n from members where user_id = 'ml-victim'`;
    expect(victim?.n).toBe(3);
    // Concurrent adds of one user cannot pass the cap together.
    const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => cluster.token(`ml-racer${i}`)));
    const rooms = await Promise.all(racers.map((t, i) => cluster.createConversation(t, [], "group", `race ${i}`)));
    const results = await Promise.all(
      rooms.map((r, i) => cluster.http(0, "POST", `/v1/conversations/${r.id}/members`, { token: racers[i]!, body: { userIds: ["ml-raced"] } })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect((await limited(cluster.nodes[0]!.registry)).conversations_per_user).toBe(2 + 3);
  });

  it("a user adds at most MEMBER_ADDS_PER_MINUTE users a minute, creations included: past it RATE_LIMITED with Retry-After", async () => {
    const admin = await cluster.token("ml-admin");
    const first = await cluster.http(0, "POST", "/v1/conversations", { token: admin, body: { kind: "group", memberIds: ["ml-x1", "ml-x2", "ml-x3"] } });
    expect(first.status).toBe(201);
    const id = first.body.conversation.id as string;
    // 3 of 500 spent: a request for 498 more is refused whole (no one added, nothing spent)...
    const many = Array.from({ length: 498 }, (_, i) => `ml-y${i}`);
    const over = await cluster.http(0, "POST", `/v1/conversations/${id}/members`, { token: admin, body: { userIds: many } });
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe("RATE_LIMITED");
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await membersOf(id)).toEqual(["ml-admin", "ml-x1", "ml-x2", "ml-x3"]);
    // ... and a smaller one still fits.
    expect((await cluster.http(0, "POST", `/v1/conversations/${id}/members`, { token: admin, body: { userIds: ["ml-z1", "ml-z2"] } })).status).toBe(200);
    expect((await limited(cluster.nodes[0]!.registry)).member_adds_per_minute).toBe(1);
  });
});
