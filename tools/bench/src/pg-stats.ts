// Table access counters (pg_stat_user_tables) around a measured window: how the persister's
// statements reach `messages` and `conversations` (index or sequential scans, rows read).
import postgres from "postgres";

export type TableCounts = Record<string, { seqScan: number; seqTupRead: number; idxScan: number; liveRows: number }>;

export async function tableStats(databaseUrl: string): Promise<TableCounts> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    // The statistics collector reports with a delay; pg_stat_clear_snapshot is per session
    // only, so the numbers may lag by up to ~0.5 s: fine over a 10 s window.
    const rows = await sql<{ relname: string; seq_scan: string; seq_tup_read: string; idx_scan: string | null; n_live_tup: string }[]>`
      select relname, seq_scan::text, seq_tup_read::text, idx_scan::text, n_live_tup::text
      from pg_stat_user_tables where relname in ('messages', 'conversations', 'users', 'members')`;
    const out: TableCounts = {};
    for (const row of rows) {
      out[row.relname] = { seqScan: Number(row.seq_scan), seqTupRead: Number(row.seq_tup_read), idxScan: Number(row.idx_scan ?? 0), liveRows: Number(row.n_live_tup) };
    }
    return out;
  } catch {
    return {};
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export interface TableUse {
  seqScans: number;
  rowsReadBySeqScans: number;
  indexScans: number;
  liveRowsAtEnd: number;
}

export function tablesBetween(a: TableCounts, b: TableCounts): Record<string, TableUse> {
  const out: Record<string, TableUse> = {};
  for (const [name, after] of Object.entries(b)) {
    const before = a[name] ?? { seqScan: 0, seqTupRead: 0, idxScan: 0, liveRows: 0 };
    out[name] = {
      seqScans: after.seqScan - before.seqScan,
      rowsReadBySeqScans: after.seqTupRead - before.seqTupRead,
      indexScans: after.idxScan - before.idxScan,
      liveRowsAtEnd: after.liveRows,
    };
  }
  return out;
}
