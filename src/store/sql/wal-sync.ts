import fs from 'node:fs';
import path from 'node:path';
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely';

/**
 * Durable SQLite commits without blocking the event loop ("overlapped" sync, the default; see
 * TROVE_SQLITE_SYNC in README.md).
 *
 * Problem: with `synchronous=FULL` SQLite fsyncs the WAL inside every COMMIT, and better-sqlite3
 * runs COMMIT on the only JavaScript thread, so each group's fsync (~3 ms on the bench disk, much
 * more under load) stops the whole server.
 *
 * What we do instead:
 * - SQLite runs with `synchronous=NORMAL` in WAL mode: a COMMIT appends its frames to the `-wal`
 *   file with write() and returns without syncing. Checkpoints still sync (the WAL before copying
 *   pages into the database file, the database file after), so the database stays consistent
 *   after a power loss; what NORMAL alone gives up is only the durability of the last commits.
 * - We give that back ourselves: after a COMMIT has *returned*, we `fdatasync` the `-wal` file
 *   through a descriptor of our own, with `FileHandle.datasync()`, which runs on libuv's thread
 *   pool, and the writes of that commit are acknowledged only once that fdatasync has completed.
 *   fdatasync flushes every write() made to the inode before it started, whichever descriptor
 *   made it (the page cache is per inode), and the file size with it. Since it starts after the
 *   COMMIT's write() calls returned, it covers the commit frame. So an acknowledged write is on
 *   disk exactly as with synchronous=FULL; only *when* the thread waits differs: the event loop
 *   runs the next group (and reads) while the disk flushes.
 * - Coalescing: a flush request made while an fdatasync is in flight may not be covered by it
 *   (it may have started before that COMMIT). Such requests share one more fdatasync, started as
 *   soon as the one in flight completes; requests whose commits all happened before the in-flight
 *   fdatasync started simply join it. So at most one fdatasync runs and at most one waits.
 * - Torn state after a power loss is SQLite's business, as with NORMAL alone: a WAL restart
 *   writes a new header (new salts) over the start of the file; frames of the new generation
 *   are only valid with that header, so a crash before our fdatasync leaves either the old
 *   generation (already checkpointed and synced into the database file) or the new one, never a
 *   mix that SQLite would accept. Unacknowledged writes may be lost, acknowledged ones may not.
 * - The descriptor: SQLite keeps one `-wal` file (same inode) while any connection has the
 *   database open. A checkpoint that restarts the log writes from offset 0 of the same file;
 *   `wal_checkpoint(TRUNCATE)` and `journal_size_limit` truncate it in place; both keep the inode
 *   (test: wal-sync.test.ts). SQLite deletes the file only when the last connection closes or the
 *   journal mode leaves WAL, and it checkpoints everything into the database file (with a sync)
 *   before it does, so a flush that ends up on a deleted inode lost nothing. Before every
 *   fdatasync we fstat our descriptor: if its file was unlinked (nlink 0) we open the path again;
 *   if there is no `-wal` file at all (journal mode changed), we fdatasync the database file
 *   itself. A newly opened `-wal` also gets its directory fsynced once, so its name survives a
 *   power loss too (SQLite does this at the file's first sync, which with NORMAL may only come
 *   at the first checkpoint). Our descriptors are only ever closed after SQLite closed the
 *   database: closing any descriptor of a file drops the process's POSIX locks on it, and SQLite
 *   keeps its locks on the database file and `-shm`, never on `-wal` (we close a stale `-wal`
 *   descriptor at once, which is safe for that reason).
 * - Failure: if an fdatasync fails (EIO, ENOSPC, ...), every write waiting for it gets the error,
 *   nothing of theirs is acknowledged (their rows may still be visible, as after a timeout: the
 *   client must treat the outcome as unknown). After a failed fsync Linux may have dropped the
 *   dirty pages and marked them clean, so no later fsync can be trusted: the syncer stays failed,
 *   every later write is refused at BEGIN (or, for a write outside a transaction, answered with
 *   the error) until the server is restarted, which reopens the database and lets SQLite recover
 *   from what is really on disk. Reads keep working.
 * - Visibility: once a COMMIT returned, other requests can read its rows, possibly a few
 *   milliseconds before the writer is acknowledged. A read that sees them and then loses them to
 *   a power loss saw a write whose outcome was still unknown to its writer; any *write* that
 *   depends on them commits later in the same file, so its own (later) fdatasync covers them too:
 *   no acknowledged write can depend on a lost one.
 *
 * What the tests can and cannot show: unit tests check the ordering (no acknowledgement before
 * the fdatasync that covers it resolved), coalescing, error propagation and that the descriptor
 * follows the file; a `kill -9` test shows no acknowledged write is lost by a process crash. A
 * process crash loses nothing that write() handed to the kernel, so it cannot tell FULL from
 * NORMAL: power-loss safety rests on the ordering the unit tests check (fdatasync completed
 * after COMMIT returned, before the acknowledgement).
 */

/** The file work a syncer needs; WalFile in production, a fake in tests. */
export interface SyncTarget {
  /** Makes every write() already made to the WAL (or database) file durable. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface WalSyncStats {
  /** fdatasync calls completed. */
  syncs: number;
  /** Flush requests (one per acknowledged commit or group of commits). */
  flushes: number;
}

export class WalSyncFailedError extends Error {
  constructor(cause: unknown) {
    super(
      `The database could not make writes durable (fdatasync of the SQLite WAL failed: ${(cause as Error)?.message ?? String(cause)}). ` +
        'Writes are refused until the server is restarted.',
      { cause },
    );
    this.name = 'WalSyncFailedError';
  }
}

interface InFlight {
  /** The commits (by count) this fdatasync covers: all that had returned when it started. */
  covers: number;
  done: Promise<void>;
}

/**
 * Counts COMMITs and turns "make everything committed so far durable" into as few fdatasyncs as
 * possible, never acknowledging a commit its fdatasync did not cover.
 */
export class WalSyncer {
  private commits = 0;
  private durableUpTo = 0;
  private inFlight: InFlight | undefined;
  private queued: Promise<void> | undefined;
  private failure: WalSyncFailedError | undefined;
  readonly stats: WalSyncStats = { syncs: 0, flushes: 0 };

  constructor(readonly target: SyncTarget) {}

  /** Called synchronously right after a COMMIT (or an autocommit write) returned. */
  noteCommit(): void {
    this.commits++;
  }

  /** The error every write gets after an fdatasync failed, else undefined. */
  get failed(): WalSyncFailedError | undefined {
    return this.failure;
  }

  /** Resolves once every commit noted before this call is durable; rejects if that cannot be. */
  flush(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const wanted = this.commits;
    if (wanted <= this.durableUpTo) return Promise.resolve();
    this.stats.flushes++;
    const current = this.inFlight;
    if (!current) return this.start();
    if (current.covers >= wanted) return current.done;
    // The fdatasync in flight may have started before this commit: one more after it, shared.
    this.queued ??= current.done.then(
      () => {
        this.queued = undefined;
        return this.start();
      },
      (error: unknown) => {
        this.queued = undefined;
        throw error;
      },
    );
    return this.queued;
  }

  private start(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const covers = this.commits;
    const flight: InFlight = { covers, done: Promise.resolve() };
    flight.done = this.target.sync().then(
      () => {
        this.stats.syncs++;
        if (covers > this.durableUpTo) this.durableUpTo = covers;
        if (this.inFlight === flight) this.inFlight = undefined;
      },
      (error: unknown) => {
        this.failure ??= new WalSyncFailedError(error);
        if (this.inFlight === flight) this.inFlight = undefined;
        throw this.failure;
      },
    );
    this.inFlight = flight;
    return flight.done;
  }

  /** After the database closed: lets a running fdatasync finish, then closes the descriptors. */
  async close(): Promise<void> {
    await Promise.allSettled([this.inFlight?.done, this.queued]);
    await this.target.close();
  }
}

/**
 * The `-wal` file of a SQLite database, as a descriptor of our own that follows the file (see the
 * module comment). Falls back to the database file when there is no `-wal`.
 */
export class WalFile implements SyncTarget {
  private handle: fs.promises.FileHandle | undefined;
  private mainHandle: fs.promises.FileHandle | undefined;
  private dirSynced = false;
  /** Times a descriptor of the `-wal` file was opened, and the database file synced instead. */
  readonly stats = { opens: 0, mainFileSyncs: 0 };
  readonly walPath: string;

  constructor(readonly databasePath: string) {
    this.databasePath = path.resolve(databasePath);
    this.walPath = `${this.databasePath}-wal`;
  }

  async sync(): Promise<void> {
    const handle = await this.current();
    if (handle) {
      await handle.datasync();
      if (!this.dirSynced) {
        await syncDirectory(path.dirname(this.walPath));
        this.dirSynced = true;
      }
      return;
    }
    // No -wal file (not in WAL mode any more): the commits went to the database file itself.
    this.mainHandle ??= await fs.promises.open(this.databasePath, 'r');
    this.stats.mainFileSyncs++;
    await this.mainHandle.datasync();
  }

  /** The inode our descriptor refers to (tests), or undefined when none is open. */
  async inode(): Promise<number | undefined> {
    return this.handle ? (await this.handle.stat()).ino : undefined;
  }

  private async current(): Promise<fs.promises.FileHandle | undefined> {
    if (this.handle) {
      // fstat on our own open descriptor: no disk I/O, so done synchronously; through the thread
      // pool (FileHandle.stat) it cost several times the system call on the one JavaScript thread.
      if (fs.fstatSync(this.handle.fd).nlink > 0) return this.handle;
      // Unlinked (last connection closed, or the journal mode left WAL): SQLite checkpointed it
      // into the database file before deleting it. Never holds SQLite locks, so safe to close.
      const stale = this.handle;
      this.handle = undefined;
      await stale.close().catch(() => undefined);
    }
    try {
      this.handle = await fs.promises.open(this.walPath, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    this.stats.opens++;
    this.dirSynced = false;
    return this.handle;
  }

  /** Call only after SQLite closed the database (see the module comment on POSIX locks). */
  async close(): Promise<void> {
    const handles = [this.handle, this.mainHandle];
    this.handle = undefined;
    this.mainHandle = undefined;
    await Promise.all(handles.map((h) => h?.close().catch(() => undefined)));
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fs.promises.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** What the connection wrapper needs to know about the better-sqlite3 handle. */
export interface SqliteState {
  readonly inTransaction: boolean;
  /** Whether the statement prepared last is read-only (recorded by the statement cache). */
  readonly lastStatementReadonly: boolean;
}

/**
 * Wraps Kysely's SQLite connection so that it notes every commit: a statement after which the
 * transaction it ended is gone (COMMIT; not ROLLBACK), or a writing statement run outside any
 * transaction (autocommit). better-sqlite3 runs the statement synchronously inside
 * executeQuery, so the state read right after the call belongs to that statement.
 */
export function noteCommits(inner: DatabaseConnection, sqlite: SqliteState, onCommit: () => void): DatabaseConnection {
  return {
    executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const wasInTransaction = sqlite.inTransaction;
      let result: Promise<QueryResult<R>>;
      try {
        result = inner.executeQuery<R>(query);
      } catch (error) {
        return Promise.reject(error);
      }
      if (!sqlite.inTransaction) {
        if (wasInTransaction ? !/^\s*rollback\b/i.test(query.sql) : !sqlite.lastStatementReadonly) onCommit();
      }
      return result;
    },
    streamQuery<R>(query: CompiledQuery, chunkSize?: number) {
      return inner.streamQuery<R>(query, chunkSize);
    },
  };
}

const syncers = new WeakMap<object, WalSyncer>();

/** Remembers the syncer of a root database handle (database.ts), for stats and tests. */
export function registerWalSyncer(db: object, syncer: WalSyncer): void {
  syncers.set(db, syncer);
}

/** The WAL syncer of a root database handle, or undefined (`full` sync, in-memory, PostgreSQL). */
export function walSyncerOf(db: object): WalSyncer | undefined {
  return syncers.get(db);
}

/** How SQLite makes commits durable: `overlapped` (default) or `full`; see TROVE_SQLITE_SYNC. */
export type SqliteSyncMode = 'full' | 'overlapped';

/**
 * TROVE_SQLITE_SYNC: `overlapped` (the default: synchronous=NORMAL plus our own fdatasync of the
 * WAL off the event loop before acknowledging) or `full` (synchronous=FULL: SQLite fsyncs inside
 * every COMMIT, on the event loop). Both acknowledge a write only once it survives a power loss.
 */
export function sqliteSyncFromEnv(env: NodeJS.ProcessEnv): SqliteSyncMode {
  const raw = env.TROVE_SQLITE_SYNC?.trim().toLowerCase();
  if (raw === undefined || raw === '') return 'overlapped';
  if (raw === 'full' || raw === 'overlapped') return raw;
  throw new Error(`TROVE_SQLITE_SYNC must be full or overlapped, got '${env.TROVE_SQLITE_SYNC}'.`);
}
