import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { createTestDatabase, testInfra } from "../src/vitest.js";

describe("createDatabase (through the shared globalSetup)", () => {
  it("provides URLs to test files", () => {
    const { redisUrl, databaseUrl } = testInfra();
    expect(redisUrl).toMatch(/^redis:\/\//);
    expect(databaseUrl).toMatch(/^postgres:\/\//);
  });

  it("creates a migrated database and drops it", async () => {
    const db = await createTestDatabase();
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const tables = await sql<{ table_name: string }[]>`
        select table_name from information_schema.tables where table_schema = 'public'`;
      const names = tables.map((row) => row.table_name);
      expect(names).toContain("messages");
      expect(names).toContain("conversations");
    } finally {
      await sql.end({ timeout: 1 });
    }
    await db.drop();
    await db.drop();
    const admin = postgres(testInfra().databaseUrl, { max: 1 });
    try {
      const left = await admin`select 1 from pg_database where datname = ${db.name}`;
      expect(left).toHaveLength(0);
    } finally {
      await admin.end({ timeout: 1 });
    }
  });

  it("gives two calls two databases", async () => {
    const [a, b] = await Promise.all([createTestDatabase({ migrate: false }), createTestDatabase({ migrate: false })]);
    expect(a.url).not.toBe(b.url);
    await Promise.all([a.drop(), b.drop()]);
  });
});
