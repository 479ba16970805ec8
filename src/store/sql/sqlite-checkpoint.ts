/**
 * How often SQLite copies the write-ahead log back into the database file (a checkpoint).
 *
 * SQLite checkpoints automatically from inside the COMMIT that takes the `-wal` file past
 * `wal_autocheckpoint` pages (1,000 by default, ~4 MiB). better-sqlite3 is synchronous, so that
 * checkpoint runs on the event loop: it copies every page changed since the last one into the
 * database file and fsyncs the WAL before and the database file after, while every request waits.
 * Under a stream of small writes (create-run: a run row, a tag and an audit entry, each touching a
 * few B-tree pages) those checkpoints took a third of SQLite's time per run (measured with
 * better-sqlite3 on the bench machine: COMMIT 57 µs per run at 1,000 pages, 33 at 10,000, 22 with
 * none) and held the event loop in fsync. Ten times fewer checkpoints copy each hot page (an index
 * leaf, the sequence table) once instead of ten times and pay the two fsyncs a tenth as often:
 * create-run 3,650 → 4,000–4,400 requests/s on one core (docs/benchmarks.md).
 *
 * The cost: the `-wal` file grows to ~40 MiB before a checkpoint restarts it (SQLite keeps the file
 * at that size afterwards), and opening a database after a crash replays up to that much log.
 * Durability does not change: a checkpoint still syncs the WAL before it overwrites anything in
 * the database file, and acknowledged commits are synced as before (wal-sync.ts).
 */
export const DEFAULT_WAL_AUTOCHECKPOINT_PAGES = 10_000;

const MAX_WAL_AUTOCHECKPOINT_PAGES = 1_000_000;

/**
 * TROVE_SQLITE_WAL_AUTOCHECKPOINT: the WAL size, in pages of 4 KiB, at which SQLite checkpoints
 * (SQLite's `wal_autocheckpoint`). 1,000 is SQLite's own default. Turning checkpoints off (0) is
 * refused: the `-wal` file would grow without bound.
 */
export function walAutocheckpointFromEnv(env: NodeJS.ProcessEnv): number {
  const raw = env.TROVE_SQLITE_WAL_AUTOCHECKPOINT?.trim();
  if (raw === undefined || raw === '') return DEFAULT_WAL_AUTOCHECKPOINT_PAGES;
  const pages = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(pages) || pages < 1 || pages > MAX_WAL_AUTOCHECKPOINT_PAGES) {
    throw new Error(`TROVE_SQLITE_WAL_AUTOCHECKPOINT must be a whole number of pages from 1 to ${MAX_WAL_AUTOCHECKPOINT_PAGES.toLocaleString('en-US')}, got '${env.TROVE_SQLITE_WAL_AUTOCHECKPOINT}'.`);
  }
  return pages;
}
