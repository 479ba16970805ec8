import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase, type OpenedDatabase } from './database.ts';
import { GroupCommit } from './group-commit.ts';
import { sqliteSyncFromEnv, walSyncerOf, WalFile, WalSyncer, WalSyncFailedError, type SyncTarget } from './wal-sync.ts';
import { SqlTrackingStore } from './sql-tracking-store.ts';

/** A sync target whose fdatasyncs the test completes (or fails) by hand. */
class ManualTarget implements SyncTarget {
  readonly pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  started = 0;
  sync(): Promise<void> {
    this.started++;
    return new Promise<void>((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  async close(): Promise<void> {}
  /** Completes the oldest fdatasync still running. */
  complete(): void {
    const next = this.pending.shift();
    assert.ok(next, 'an fdatasync is running');
    next.resolve();
  }
  fail(error: Error): void {
    const next = this.pending.shift();
    assert.ok(next, 'an fdatasync is running');
    next.reject(error);
  }
}

/** Lets every promise callback and one event-loop turn run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tracks whether a promise settled, without letting a rejection go unhandled. */
function watch(promise: Promise<unknown>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const seen: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (seen.state = 'resolved'),
    (error: unknown) => {
      seen.state = 'rejected';
      seen.error = error;
    },
  );
  return seen;
}

describe('WalSyncer', () => {
  test('a flush after a commit waits for one fdatasync; a flush with nothing new committed does not start one', async () => {
    const target = new ManualTarget();
    const syncer = new WalSyncer(target);
    await syncer.flush();
    assert.equal(target.started, 0);
    syncer.noteCommit();
    const flushed = watch(syncer.flush());
    await settle();
    assert.equal(target.started, 1);
    assert.equal(flushed.state, 'pending', 'not durable before the fdatasync completed');
    target.complete();
    await settle();
    assert.equal(flushed.state, 'resolved');
    await syncer.flush();
    assert.equal(target.started, 1, 'everything committed is already durable');
  });

  test('commits made while an fdatasync runs share one more fdatasync, started only after it completed', async () => {
    const target = new ManualTarget();
    const syncer = new WalSyncer(target);
    syncer.noteCommit();
    const first = watch(syncer.flush());
    // A second flush for the same commit joins the running fdatasync.
    const sameCommit = watch(syncer.flush());
    syncer.noteCommit();
    const second = watch(syncer.flush());
    syncer.noteCommit();
    const third = watch(syncer.flush());
    await settle();
    assert.equal(target.started, 1, 'the later commits wait: the running fdatasync may have started before them');
    target.complete();
    await settle();
    assert.equal(first.state, 'resolved');
    assert.equal(sameCommit.state, 'resolved');
    assert.equal(second.state, 'pending', 'its commit is not covered by the first fdatasync');
    assert.equal(third.state, 'pending');
    assert.equal(target.started, 2, 'one fdatasync for both waiting commits');
    target.complete();
    await settle();
    assert.equal(second.state, 'resolved');
    assert.equal(third.state, 'resolved');
    assert.equal(syncer.stats.syncs, 2);
  });

  test('a failed fdatasync rejects every waiting flush, and every later one without syncing again', async () => {
    const target = new ManualTarget();
    const syncer = new WalSyncer(target);
    syncer.noteCommit();
    const first = watch(syncer.flush());
    syncer.noteCommit();
    const queued = watch(syncer.flush());
    await settle();
    target.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    await settle();
    assert.equal(first.state, 'rejected');
    assert.equal(queued.state, 'rejected');
    assert.ok(first.error instanceof WalSyncFailedError);
    assert.match(String(first.error), /EIO/);
    assert.equal(queued.error, first.error);
    assert.equal(syncer.failed, first.error);
    syncer.noteCommit();
    await assert.rejects(syncer.flush(), WalSyncFailedError);
    assert.equal(target.started, 1, 'after a failure no fdatasync is trusted, so none is tried');
  });

  test('TROVE_SQLITE_SYNC accepts full and overlapped, defaults to overlapped and refuses anything else', () => {
    assert.equal(sqliteSyncFromEnv({}), 'overlapped');
    assert.equal(sqliteSyncFromEnv({ TROVE_SQLITE_SYNC: 'FULL' }), 'full');
    assert.equal(sqliteSyncFromEnv({ TROVE_SQLITE_SYNC: 'overlapped' }), 'overlapped');
    assert.throws(() => sqliteSyncFromEnv({ TROVE_SQLITE_SYNC: 'off' }), /full or overlapped/);
  });
});

describe('SQLite group commit with overlapped sync', () => {
  let dir: string;
  let database: OpenedDatabase;
  let store: SqlTrackingStore;
  let counter = 0;
  const unique = (label: string): string => `${label}-${++counter}`;
  const T0 = 1_700_000_000_000;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-wal-sync-'));
    // `full`: no syncer of its own, so the test's flush is the only one.
    database = await openDatabase(`sqlite:///${path.join(dir, 'trove.db')}`, { sqliteSync: 'full' });
    store = new SqlTrackingStore(database.db);
    await store.ensureDefaultExperiment('mlflow-artifacts:/0', T0);
  });

  after(async () => {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const insertExperiment = (group: GroupCommit<unknown>, name: string) =>
    group.run((trx) =>
      sql`insert into experiments (name, artifact_location, lifecycle_stage, creation_time, last_update_time) values (${name}, ${'x'}, ${'active'}, ${T0}, ${T0})`.execute(trx),
    );
  const exists = async (name: string): Promise<boolean> =>
    (await sql<{ n: number }>`select count(*) as n from experiments where name = ${name}`.execute(database.db)).rows[0]!.n > 0;

  test('no member of a group is answered before the flush after its COMMIT resolved, and the next group commits meanwhile', async () => {
    const target = new ManualTarget();
    const syncer = new WalSyncer(target);
    let committedBeforeFlush = 0;
    const durability = {
      flush: async () => {
        syncer.noteCommit();
        committedBeforeFlush += 1;
        return syncer.flush();
      },
    };
    const group = new GroupCommit(database.db as never, { durability }) as GroupCommit<unknown>;
    const a = unique('a');
    const b = unique('b');
    const first = [watch(insertExperiment(group, a)), watch(insertExperiment(group, b))];
    while (target.started < 1) await settle();
    assert.ok(await exists(a), 'the COMMIT returned before the flush was asked for');
    assert.ok(await exists(b));
    for (let i = 0; i < 5; i++) await settle();
    assert.deepEqual(first.map((m) => m.state), ['pending', 'pending'], 'committed but not durable: not answered');
    // The connection is free: a second group runs and commits while the first one's fdatasync runs.
    const c = unique('c');
    const second = watch(insertExperiment(group, c));
    while (committedBeforeFlush < 2) await settle();
    assert.ok(await exists(c));
    assert.equal(target.started, 1, "the second group's flush waits for the running fdatasync");
    target.complete();
    while (first.some((m) => m.state === 'pending')) await settle();
    assert.deepEqual(first.map((m) => m.state), ['resolved', 'resolved']);
    for (let i = 0; i < 5; i++) await settle();
    assert.equal(second.state, 'pending', 'its COMMIT came after the first fdatasync started');
    target.complete();
    while (second.state === 'pending') await settle();
    assert.equal(second.state, 'resolved');
    assert.equal(group.stats.commits, 2);
  });

  test('a failing flush fails every member of the group that had succeeded, with the fdatasync error', async () => {
    const target = new ManualTarget();
    const syncer = new WalSyncer(target);
    const group = new GroupCommit(database.db as never, {
      durability: {
        flush: () => {
          syncer.noteCommit();
          return syncer.flush();
        },
      },
    }) as GroupCommit<unknown>;
    const members = [
      watch(insertExperiment(group, unique('lost-a'))),
      watch(group.run(async () => {
        throw new Error('its own error');
      })),
      watch(insertExperiment(group, unique('lost-b'))),
    ];
    while (target.started < 1) await settle();
    target.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    while (members.some((m) => m.state === 'pending')) await settle();
    assert.deepEqual(members.map((m) => m.state), ['rejected', 'rejected', 'rejected']);
    assert.ok(members[0]!.error instanceof WalSyncFailedError);
    assert.ok(members[2]!.error instanceof WalSyncFailedError);
    assert.match(String(members[1]!.error), /its own error/, 'a member that failed keeps its own error');
    assert.equal(group.stats.failedGroups, 1);
    assert.equal(group.stats.commits, 0);
  });

  test('a database opened with overlapped sync flushes the WAL for group writes and for writes outside a transaction', async () => {
    const overlapped = await openDatabase(`sqlite:///${path.join(dir, 'overlapped.db')}`, { sqliteSync: 'overlapped' });
    try {
      const syncer = walSyncerOf(overlapped.db);
      assert.ok(syncer, 'overlapped is a WalSyncer');
      const synchronous = await sql<{ synchronous: number }>`pragma synchronous`.execute(overlapped.db);
      assert.equal(synchronous.rows[0]!.synchronous, 1, 'NORMAL');
      const tracking = new SqlTrackingStore(overlapped.db);
      await tracking.ensureDefaultExperiment('mlflow-artifacts:/0', T0);
      const before = syncer.stats.syncs;
      await Promise.all([1, 2, 3].map((i) => tracking.transaction((tx) => tx.createExperiment({ projectId: 1, name: unique(`o${i}`), artifactLocation: null, artifactLocationFor: (id) => `x/${id}`, tags: [], now: T0 }))));
      assert.ok(syncer.stats.syncs > before, 'the group commit waited for an fdatasync');
      const afterGroup = syncer.stats.syncs;
      await sql`update experiments set last_update_time = ${T0 + 1}`.execute(overlapped.db);
      assert.equal(syncer.stats.syncs, afterGroup + 1, 'an autocommit write is flushed before it returns');
      await sql`select count(*) from experiments`.execute(overlapped.db);
      assert.equal(syncer.stats.syncs, afterGroup + 1, 'a read is not');
      await overlapped.db.transaction().execute((trx) => sql`update experiments set last_update_time = ${T0 + 2}`.execute(trx));
      assert.equal(syncer.stats.syncs, afterGroup + 2, 'a transaction outside the group commit is flushed before it returns');
      // A read-only transaction still ends with a COMMIT (BEGIN IMMEDIATE took the write lock): one cheap flush.
      await overlapped.db.transaction().execute((trx) => sql`select 1`.execute(trx));
      assert.equal(syncer.stats.syncs, afterGroup + 3);
      await assert.rejects(overlapped.db.transaction().execute(async (trx) => {
        await sql`update experiments set last_update_time = ${T0 + 3}`.execute(trx);
        throw new Error('rolled back');
      }), /rolled back/);
      assert.equal(syncer.stats.syncs, afterGroup + 3, 'a rollback does not flush');
      const full = await openDatabase(`sqlite:///${path.join(dir, 'full.db')}`, { sqliteSync: 'full' });
      try {
        assert.equal(walSyncerOf(full.db), undefined);
        const mode = await sql<{ synchronous: number }>`pragma synchronous`.execute(full.db);
        assert.equal(mode.rows[0]!.synchronous, 2, 'FULL');
      } finally {
        await full.close();
      }
    } finally {
      await overlapped.close();
    }
  });
});

describe('WalFile', () => {
  test('its descriptor keeps following the -wal file through a TRUNCATE checkpoint, a restart and a recreated file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-wal-file-'));
    const file = path.join(dir, 'x.db');
    const sqlite = new Sqlite(file);
    const wal = new WalFile(file);
    try {
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('synchronous = NORMAL');
      sqlite.exec('create table t (v integer)');
      const insert = sqlite.prepare('insert into t (v) values (?)');
      insert.run(1);
      await wal.sync();
      const inode = fs.statSync(wal.walPath).ino;
      assert.equal(await wal.inode(), inode);
      assert.equal(wal.stats.opens, 1);

      // TRUNCATE: the same file cut to 0 bytes, then written again from the start.
      sqlite.pragma('wal_checkpoint(TRUNCATE)');
      assert.equal(fs.statSync(wal.walPath).size, 0);
      insert.run(2);
      await wal.sync();
      assert.equal(fs.statSync(wal.walPath).ino, inode, 'SQLite kept the inode');
      assert.equal(await wal.inode(), inode);
      // RESTART: the next commit rewrites the log from its header.
      sqlite.pragma('wal_checkpoint(RESTART)');
      insert.run(3);
      await wal.sync();
      assert.equal(fs.statSync(wal.walPath).ino, inode);
      assert.equal(wal.stats.opens, 1, 'one descriptor all along');
      assert.ok(fs.statSync(wal.walPath).size > 0);

      // Leaving WAL mode deletes the file: the database file itself is synced instead.
      sqlite.pragma('journal_mode = DELETE');
      assert.equal(fs.existsSync(wal.walPath), false);
      insert.run(4);
      await wal.sync();
      assert.equal(wal.stats.mainFileSyncs, 1);
      // Back in WAL mode: a new -wal file (a new inode), which the next sync opens.
      sqlite.pragma('journal_mode = WAL');
      insert.run(5);
      await wal.sync();
      assert.equal(wal.stats.opens, 2);
      assert.equal(await wal.inode(), fs.statSync(wal.walPath).ino);
      assert.equal((sqlite.prepare('select count(*) as n from t').get() as { n: number }).n, 5);
    } finally {
      sqlite.close();
      await wal.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
