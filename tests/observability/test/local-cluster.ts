import { ServiceProcess, createDatabase, freePort, signToken, startRedis, type ServerHandle, type TestDatabase } from "@parley/testkit";
import { testInfra } from "@parley/testkit/vitest";

export const SECRET = "observability-test-secret-0123456789";

export interface LocalClusterOptions {
  /** The gateways' SHUTDOWN_GRACE_MS (their drain window is this minus 3 s). */
  shutdownGraceMs?: number;
}

export type LocalCluster = Awaited<ReturnType<typeof startLocalCluster>>;

/**
 * The whole cluster as `npm start` runs it: two gateways, a persister and a delivery
 * service, each its own process. Real processes use the default Redis keyspace, so the
 * cluster gets a Redis of its own (other test files never see its queues and channels) and
 * a database of its own on the run's PostgreSQL.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}) {
  const [redis, db]: [ServerHandle, TestDatabase] = await Promise.all([
    startRedis({ infra: "local" }),
    createDatabase(testInfra().databaseUrl),
  ]);
  const shared = { REDIS_URL: redis.url, DATABASE_URL: db.url };
  const [gw0, gw1, persisterPort, deliveryPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const gatewayEnv = { ...shared, HOST: "127.0.0.1", JWT_SECRET: SECRET, SHUTDOWN_GRACE_MS: String(options.shutdownGraceMs ?? 8_000) };
  const gateways = [
    new ServiceProcess("gateway", "gateway-0", gw0, gatewayEnv),
    new ServiceProcess("gateway", "gateway-1", gw1, gatewayEnv),
  ];
  const persister = new ServiceProcess("persister", "persister-0", persisterPort, shared);
  const delivery = new ServiceProcess("delivery", "delivery-0", deliveryPort, shared);
  const all = [...gateways, persister, delivery];
  try {
    await Promise.all(all.map((service) => service.start()));
  } catch (error) {
    await Promise.allSettled(all.map((service) => service.kill()));
    await Promise.allSettled([redis.close(), db.drop()]);
    throw error;
  }

  return {
    redis,
    database: db,
    gateways,
    persister,
    delivery,
    services: all,
    token: (userId: string, name = userId) => signToken({ sub: userId, name, secret: SECRET }),
    /** Creates a group conversation as `owner` over HTTP and answers its id. */
    async createGroup(owner: string, memberIds: string[], title: string): Promise<string> {
      const response = await fetch(`${gateways[0]!.url}/v1/conversations`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${await signToken({ sub: owner, secret: SECRET })}` },
        body: JSON.stringify({ kind: "group", memberIds, title }),
      });
      if (response.status !== 201) throw new Error(`creating a conversation answered ${response.status}: ${await response.text()}`);
      const body = (await response.json()) as { conversation: { id: string } };
      return body.conversation.id;
    },
    /** Stops everything; the services get SIGTERM first and SIGKILL if they do not go. */
    async close(): Promise<void> {
      await Promise.allSettled(
        all.map(async (service) => {
          const timer = setTimeout(() => void service.kill(), 15_000);
          await service.terminate();
          clearTimeout(timer);
        }),
      );
      await Promise.allSettled([redis.close(), db.drop()]);
    },
  };
}
