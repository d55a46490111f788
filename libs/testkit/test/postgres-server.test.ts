import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { startPostgres } from "../src/postgres-server.js";
import type { ServerHandle } from "../src/server-handle.js";

describe("startPostgres", () => {
  let pg: ServerHandle | undefined;
  afterAll(() => pg?.close());

  it("keeps data across stop() and start() on the same port", async () => {
    pg = await startPostgres({ infra: "local" });
    expect(pg.url).toBe(`postgres://parley@127.0.0.1:${pg.port}/postgres`);
    const sql = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      await sql`create table kept (n int)`;
      await sql`insert into kept values (42)`;
      await pg.stop();
      await expect(sql`select 1`).rejects.toThrow();
      await pg.start();
      const rows = await sql<{ n: number }[]>`select n from kept`;
      expect(rows.map((row) => row.n)).toEqual([42]);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
