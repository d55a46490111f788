import { Readable } from "node:stream";
import { exportUser, type Database } from "@parley/db";
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
    const lines = exportUser(this.deps.database.sql, userId, this.deps.cursorRows);
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

async function* ndjson(lines: AsyncIterable<ExportLine>): AsyncGenerator<string> {
  for await (const line of lines) yield `${JSON.stringify(line)}\n`;
}
