import { CompiledQuery, type ControlledTransaction, type Kysely, type Transaction } from 'kysely';
import { withDirectExecuteQuery, type DirectSqlite } from './direct-sqlite.ts';

/**
 * Group commit for SQLite: many write requests, one COMMIT, one fsync.
 *
 * Why: every acknowledged COMMIT needs an fsync of the WAL (inside the COMMIT with
 * TROVE_SQLITE_SYNC=full; right after it, off the event loop, by default). On the benchmark machine
 * that fsync alone costs ~3 ms, and better-sqlite3 is synchronous, so the whole event loop waits
 * for it: one commit per request capped small writes (create-run, a log-batch of 10 metrics) far
 * below what the CPU allows. Ten single-row commits cost ~3.0 ms each; the same ten rows as ten
 * savepoints inside one transaction cost ~0.3 ms each (measured with better-sqlite3 on this disk).
 *
 * How:
 * - The first write opens a group: one event-loop turn later (so reads already waiting for the
 *   connection go first and their requests can join) a transaction (BEGIN IMMEDIATE, through the
 *   dialect) on the single SQLite connection. Writes that arrive while it is open join and queue.
 * - The members run one after the other, never interleaved, each inside its own SAVEPOINT. A member
 *   whose work throws is rolled back to its savepoint (only its own rows go) and later gets its own
 *   error, still MLflow-shaped, because it is the error its work threw.
 * - When the queue is empty the group waits one `setImmediate` (requests read from sockets in the
 *   same event-loop turn get to join); if nobody joined, it COMMITs. A group also stops taking
 *   members at `maxMembers`.
 * - Nobody is answered before the COMMIT has returned and, with overlapped sync (the default,
 *   wal-sync.ts), before the fdatasync of the WAL that covers that COMMIT has completed: every
 *   member's promise settles after both. That fdatasync runs on libuv's thread pool, and the group
 *   is closed before its COMMIT, so the next group forms, begins and commits while the disk
 *   flushes (its own flush coalesces with any others waiting). If the COMMIT (or a savepoint
 *   command) fails, the transaction is rolled back and every member that had succeeded gets that
 *   error instead of its result; if the fdatasync fails, every member that had succeeded gets the
 *   fdatasync's error (their rows are committed but not known to be durable: never acknowledged).
 *   With TROVE_SQLITE_SYNC=full there is no separate flush: SQLite fsyncs inside the COMMIT.
 *
 * Reads: the open group holds the only SQLite connection (Kysely's driver serialises it), so a
 * read outside a transaction waits until the group has committed and never sees rows of a member
 * before its COMMIT. (With overlapped sync it may see them while their fdatasync is still running,
 * before the member is answered; wal-sync.ts, "Visibility", says why no acknowledged write can
 * depend on such rows.) Inside the group, a member sees the rows of the members that
 * ran before it (read-your-group). That is safe: it is answered only after the same COMMIT that
 * makes those rows durable, and if that COMMIT fails it gets an error too; a member that failed was
 * rolled back to its savepoint before the next one started, so no later member saw its rows.
 *
 * Work passed to `run` must use only the transaction it is given (as with any SQLite transaction
 * here: a query on the root handle inside it would wait for the connection forever).
 *
 * Only SQLite uses it (database.ts enables it when it opens a SQLite file). PostgreSQL runs each
 * transaction on its own pooled connection in parallel and already merges concurrent commits' WAL
 * flushes, so serialising its writers on one connection would lose more than it saves.
 */
export interface GroupCommitOptions {
  /** A group stops taking members after this many (bounds one transaction's size and latency). */
  maxMembers?: number;
  /**
   * Makes the group's COMMIT durable after it returned (WalSyncer with overlapped sync); members
   * are answered only once `flush()` resolved, and get its error if it rejects.
   */
  durability?: { flush(): Promise<void> };
  /**
   * Runs statements on the connection the group holds without Kysely's layers (direct-sqlite.ts):
   * the members' savepoints and the compiled statements they execute.
   */
  direct?: DirectSqlite;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

interface Member {
  work: (trx: Transaction<never>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  outcome?: Outcome;
}

interface Group {
  members: Member[];
  queue: Member[];
}

export interface GroupCommitStats {
  /** Groups committed. */
  commits: number;
  /** Members acknowledged in committed groups (successful and rolled-back ones alike). */
  members: number;
  /** Groups whose COMMIT (or transaction), or the flush making it durable, failed. */
  failedGroups: number;
}

const SAVEPOINT = {
  begin: CompiledQuery.raw('savepoint trove_member'),
  rollback: CompiledQuery.raw('rollback to trove_member'),
  release: CompiledQuery.raw('release trove_member'),
};
const DEFAULT_MAX_MEMBERS = 64;

export class GroupCommit<DB> {
  private open: Group | undefined;
  private readonly maxMembers: number;
  private readonly durability: GroupCommitOptions['durability'];
  private readonly direct: DirectSqlite | undefined;
  readonly stats: GroupCommitStats = { commits: 0, members: 0, failedGroups: 0 };

  constructor(
    private readonly db: Kysely<DB>,
    options: GroupCommitOptions = {},
  ) {
    this.maxMembers = Math.max(1, options.maxMembers ?? DEFAULT_MAX_MEMBERS);
    this.durability = options.durability;
    this.direct = options.direct;
  }

  /** Runs `work` in the open group (or a new one); settles after the group's COMMIT. */
  run<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const member: Member = { work: work as unknown as Member['work'], resolve: resolve as (value: unknown) => void, reject };
      let group = this.open;
      const fresh = group === undefined;
      if (!group) {
        group = { members: [], queue: [] };
        this.open = group;
      }
      group.members.push(member);
      group.queue.push(member);
      if (group.members.length >= this.maxMembers) this.close(group);
      if (fresh) void this.drive(group);
    });
  }

  private close(group: Group): void {
    if (this.open === group) this.open = undefined;
  }

  private async drive(group: Group): Promise<void> {
    let trx: ControlledTransaction<DB>;
    try {
      // BEGIN one turn later: the reads other requests already queued for the connection (most
      // writes first read the run or experiment they write to) run first, and those requests join
      // this group instead of waiting for its COMMIT to start the next one. Kysely's connection
      // lock is not first-come first-served, so without this the BEGIN overtakes them.
      await nextTurn();
      trx = await this.db.startTransaction().execute();
    } catch (error) {
      this.close(group);
      this.settle(group, error);
      this.stats.failedGroups++;
      return;
    }
    let failure: unknown;
    let committed = false;
    try {
      for (;;) {
        for (let member = group.queue.shift(); member; member = group.queue.shift()) {
          await this.runMember(trx, member);
        }
        await nextTurn();
        if (group.queue.length > 0) continue;
        // No await between the check above and this: nobody can join a group that is committing.
        this.close(group);
        break;
      }
      await trx.commit().execute();
      committed = true;
      // The connection is free again: the next group runs while this one's WAL is flushed.
      if (this.durability) await this.durability.flush();
    } catch (error) {
      failure = error;
      this.close(group);
      if (!committed) await trx.rollback().execute().catch(() => undefined);
    }
    if (failure === undefined) {
      this.stats.commits++;
      this.stats.members += group.members.length;
    } else {
      this.stats.failedGroups++;
    }
    this.settle(group, failure);
  }

  /** Savepoint, work, release; on failure back to the savepoint. Throws only when the transaction itself broke. */
  private async runMember(trx: ControlledTransaction<DB>, member: Member): Promise<void> {
    const direct = this.direct;
    const command = async (query: CompiledQuery): Promise<void> => {
      if (direct) direct.execute(query);
      else await trx.executeQuery(query);
    };
    await command(SAVEPOINT.begin);
    try {
      const handle = direct ? withDirectExecuteQuery(trx, direct) : trx;
      const value = await member.work(handle as unknown as Transaction<never>);
      member.outcome = { ok: true, value };
    } catch (error) {
      member.outcome = { ok: false, error };
      await command(SAVEPOINT.rollback);
    }
    await command(SAVEPOINT.release);
  }

  /** Answers every member: its own outcome after a COMMIT, `failure` for all that had succeeded otherwise. */
  private settle(group: Group, failure: unknown): void {
    for (const member of group.members) {
      const outcome = member.outcome;
      if (outcome && !outcome.ok) member.reject(outcome.error);
      else if (failure !== undefined || !outcome) member.reject(failure ?? new Error('The write was not run because its transaction failed.'));
      else member.resolve(outcome.value);
    }
  }
}

function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

const groups = new WeakMap<object, GroupCommit<unknown>>();

/** Makes transactional writes of the stores on `db` share commits (database.ts calls it for SQLite). */
export function enableGroupCommit<DB>(db: Kysely<DB>, options?: GroupCommitOptions): GroupCommit<DB> {
  const group = new GroupCommit(db, options);
  groups.set(db, group as unknown as GroupCommit<unknown>);
  return group;
}

/** The group commit of a root database handle, or undefined (PostgreSQL, or not enabled). */
export function groupCommitOf<DB>(db: Kysely<DB>): GroupCommit<DB> | undefined {
  return groups.get(db) as GroupCommit<DB> | undefined;
}
