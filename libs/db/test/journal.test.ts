import { readFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const migrations = join(dirname(fileURLToPath(import.meta.url)), "..", "migrations");
const journal = JSON.parse(readFileSync(join(migrations, "meta", "_journal.json"), "utf8")) as {
  entries: { idx: number; when: number; tag: string }[];
};

// drizzle applies only the migrations whose `when` is newer than the last one a database
// recorded: an entry with an older `when` than the one before it is silently skipped on every
// database that already ran that one (this happened once when two branches merged).
describe("migration journal", () => {
  it("numbers the entries in order, each newer than the one before, each with its SQL file", () => {
    journal.entries.forEach((entry, i) => {
      expect(entry.idx, entry.tag).toBe(i);
      expect(entry.tag.startsWith(String(i).padStart(4, "0")), entry.tag).toBe(true);
      if (i > 0) expect(entry.when, `${entry.tag} must be newer than ${journal.entries[i - 1]!.tag}`).toBeGreaterThan(journal.entries[i - 1]!.when);
      expect(existsSync(join(migrations, `${entry.tag}.sql`)), entry.tag).toBe(true);
    });
  });
});
