import { Readable } from "node:stream";
import { exportUser, type Database, type Sql } from "@parley/db";
import type { ExportLine } from "@parley/protocol";
import { ParleyError } from "@parley/protocol";
import type { Logger } from "@parley/runtime";

export interface ExportStreamDeps {
  database: Database;
  logger: Logger;
  /** Rows per cursor round trip (EXPORT_CURSOR_ROWS). */
  cursorRows: number;
  /** Exports at once on this pod (EXPORT_MAX_CONCURRENT). */
  maxConcurrent: number;
  /** One export's whole length at most (EXPORT_TIMEOUT_MS): its statements' timeout. */
  timeoutMs: number;
}

/**
 * GET /v1/me/export and the admin's: a user's data as NDJSON, streamed. The lines come from
 * Postgres cursors (libs/db export-user.ts) through a Readable that asks for the next line
 * only when the response has taken the last ones (`Readable.from` pulls on demand): a slow
 * client holds back the database reads, and memory stays at one cursor batch plus the
 * stream's buffer of 16 lines, whatever the user's history (tools/bench export-memory).
 * A client that goes away destroys the stream, which returns the generator and closes its cursor.
 */
export class ExportStreams {
  private active = 0;

  constructor(private readonly deps: ExportStreamDeps) {}

  open(userId: string): Readable {
    if (this.active >= this.deps.maxConcurrent) {
      throw new ParleyError("UNAVAILABLE", "too many exports running on this server; retry later", 5_000);
    }
    this.active++;
    const lines = onReservedConnection(this.deps.database, this.deps.timeoutMs, (sql) => exportUser(sql, userId, this.deps.cursorRows));
    const stream = Readable.from(ndjson(lines), { objectMode: false, highWaterMark: 64 * 1024 });
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.active--;
    };
    stream.once("close", release);
    stream.once("error", (err) => {
      this.deps.logger.warn({ err: err.message }, "export stream failed; the response is cut before its end line");
      release();
    });
    return stream;
  }
}

/**
 * The export's own connection from the pool, for its whole length: the pool's connections carry
 * the request path's short statement_timeout (DB_STATEMENT_TIMEOUT_MS), which a cursor read at
 * a slow client's pace outlives (the timeout runs from the cursor's first fetch). This one gets
 * EXPORT_TIMEOUT_MS instead, so an export (or a client that stops reading) holds a connection
 * for that long at most; the setting goes back to the pool's on release.
 */
async function* onReservedConnection<T>(database: Database, timeoutMs: number, work: (sql: Sql) => AsyncIterable<T>): AsyncGenerator<T> {
  const conn = await database.sql.reserve();
  try {
    await conn`select set_config('statement_timeout', ${String(timeoutMs)}, false)`;
    yield* work(conn as unknown as Sql);
  } finally {
    await conn`reset statement_timeout`.catch(() => undefined);
    conn.release();
  }
}

async function* ndjson(lines: AsyncIterable<ExportLine>): AsyncGenerator<string> {
  for await (const line of lines) yield `${JSON.stringify(line)}\n`;
}
