import { describe, expect, it } from "vitest";
import { ensureServerBinaries, findServerBinaries } from "../src/server-binaries.js";

describe("server binaries", () => {
  it("finds redis-server and the PostgreSQL server binaries on this machine", () => {
    const found = findServerBinaries();
    const ensured = ensureServerBinaries({ install: false });
    expect(ensured.redisServer).toBe(found.redisServer);
    expect(ensured.initdb).toMatch(/initdb$/);
    expect(ensured.pgCtl).toMatch(/pg_ctl$/);
  });
});
