import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { sql } from 'kysely';
import { openDatabase } from './database.ts';
import { groupCommitOf } from './group-commit.ts';
import { walCheckpointerOf, WalCheckpointer, WalIndexHeader, WorkerCheckpointTarget, type CheckpointResult, type CheckpointTarget } from './wal-checkpoint.ts';

/** A checkpoint target whose checkpoints the test completes (or fails) by hand. */
class ManualTarget implements CheckpointTarget {
  readonly pending: { resolve: (row: CheckpointResult) => void; reject: (error: Error) => void }[] = [];
  started = 0;
  checkpoint(): Promise<CheckpointResult> {
    this.started++;
    return new Promise<CheckpointResult>((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  async close(): Promise<void> {}
  complete(): void {
    const next = this.pending.shift();
    assert.ok(next, 'a checkpoint is running');
    next.resolve({ busy: 0, log: 10, checkpointed: 10 });
  }
  fail(error: Error): void {
    const next = this.pending.shift();
    assert.ok(next, 'a checkpoint is running');
    next.reject(error);
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function watch(promise: Promise<unknown> | undefined): { state: 'pending' | 'resolved' | 'rejected' } {
  const seen: { state: 'pending' | 'resolved' | 'rejected' } = { state: 'pending' };
  if (!promise) return { state: 'resolved' };
  promise.then(
    () => (seen.state = 'resolved'),
    () => (seen.state = 'rejected'),
  );
  return seen;
}

describe('WalCheckpointer', () => {
  function checkpointer(target: CheckpointTarget, wal: { frames: number | undefined }) {
    const failures: unknown[] = [];
    const here: number[] = [];
    const cp = new WalCheckpointer(target, {
      walFrames: () => wal.frames,
      thresholdFrames: 1000,
      checkpointHere: () => here.push(wal.frames ?? -1),
      onFailure: (error) => failures.push(error),
    });
    return { cp, failures, here };
  }

  test('nothing starts while the WAL is under the threshold or its header cannot be read', async () => {
    const target = new ManualTarget();
    const wal: { frames: number | undefined } = { frames: undefined };
    const { cp, here } = checkpointer(target, wal);
    cp.noteCommit();
    wal.frames = 999;
    cp.noteCommit();
    await settle();
    assert.equal(target.started, 0);
    assert.deepEqual(here, []);
  });

  test('past the threshold the worker checkpoints while commits go on; the next COMMIT copies only the frames that arrived meanwhile', async () => {
    const target = new ManualTarget();
    const wal = { frames: 1000 };
    const { cp, here } = checkpointer(target, wal);
    cp.noteCommit();
    wal.frames = 1040;
    cp.noteCommit();
    await settle();
    assert.equal(target.started, 1, 'one worker checkpoint at a time');
    assert.deepEqual(here, [], 'no checkpoint on the server connection while the worker copies');
    // The worker found 1,040 frames; 20 more were committed before its answer.
    target.pending.shift()!.resolve({ busy: 0, log: 1040, checkpointed: 1040 });
    await cp.idle;
    wal.frames = 1060;
    cp.noteCommit();
    assert.deepEqual(here, [1060], 'the catch-up ran on the server connection at that COMMIT');
    assert.deepEqual(cp.stats, { checkpoints: 1, catchUps: 1 });
    wal.frames = 3;
    cp.noteCommit();
    await settle();
    assert.equal(target.started, 1, 'the WAL started over: nothing to do');
  });

  test('no catch-up when the WAL started over after the worker\'s checkpoint', async () => {
    const target = new ManualTarget();
    const wal = { frames: 1200 };
    const { cp, here } = checkpointer(target, wal);
    cp.noteCommit();
    target.pending.shift()!.resolve({ busy: 0, log: 1200, checkpointed: 1200 });
    await cp.idle;
    wal.frames = 5;
    cp.noteCommit();
    assert.deepEqual(here, []);
    assert.deepEqual(cp.stats, { checkpoints: 1, catchUps: 0 });
  });

  test('a failing worker hands checkpoints back to the server connection once and starts nothing more', async () => {
    const target = new ManualTarget();
    const wal = { frames: 5000 };
    const { cp, failures, here } = checkpointer(target, wal);
    cp.noteCommit();
    target.fail(new Error('disk I/O error'));
    await cp.idle;
    await settle();
    assert.equal(failures.length, 1);
    assert.match(String(failures[0]), /disk I\/O error/);
    cp.noteCommit();
    await settle();
    assert.equal(target.started, 1);
    assert.deepEqual(here, []);
  });
});

describe('SQLite checkpoints in a worker thread', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-wal-checkpoint-'));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the server connection never checkpoints in its COMMITs; the worker does, and the WAL starts over instead of growing', async () => {
    const file = path.join(dir, 'trove.db');
    const database = await openDatabase(`sqlite:///${file}`, { sqliteSync: 'overlapped' });
    const checkpointer = walCheckpointerOf(database.db);
    // Our own descriptor of the -shm file, closed only after SQLite closed the database (POSIX locks).
    const header = new WalIndexHeader(`${file}-shm`);
    let rowsWritten = 0;
    assert.ok(checkpointer, 'overlapped sync on a file has a checkpointer');
    try {
      const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
      assert.equal(auto.rows[0]!.wal_autocheckpoint, 0);
      await sql`create table filler (id integer primary key, body text not null)`.execute(database.db);
      const group = groupCommitOf(database.db);
      assert.ok(group);
      const body = 'x'.repeat(3000);
      const insert = () => group.run((trx) => sql`insert into filler (body) values (${body})`.execute(trx));
      // ~12 MiB of rows in groups of 20 writes: three times SQLite's 1,000-page threshold.
      for (let round = 0; round < 200; round++) await Promise.all(Array.from({ length: 20 }, insert));
      await checkpointer.idle;
      assert.ok(checkpointer.stats.checkpoints >= 1, 'the worker checkpointed');
      // A few more single writes: the catch-up after the worker's checkpoint, then a write that
      // starts the WAL over (its frame count drops below the threshold instead of growing).
      let frames = header.frames() ?? 0;
      for (let i = 0; i < 10 && frames >= 1000; i++) {
        await insert();
        await checkpointer.idle;
        frames = header.frames() ?? 0;
      }
      assert.ok(frames < 1000, `the WAL started over (${frames} frames)`);
      const count = await sql<{ n: number }>`select count(*) as n from filler`.execute(database.db);
      rowsWritten = count.rows[0]!.n;
      assert.ok(rowsWritten >= 4000);
    } finally {
      await database.close();
      header.close();
    }
    assert.equal(fs.existsSync(`${file}-wal`), false, 'a clean close still checkpoints and removes the WAL');
    const reopened = new Sqlite(file, { readonly: true });
    try {
      assert.equal((reopened.prepare('select count(*) as n from filler').get() as { n: number }).n, rowsWritten);
    } finally {
      reopened.close();
    }
  });

  test('a full-sync database keeps SQLite\'s own checkpoints', async () => {
    const database = await openDatabase(`sqlite:///${path.join(dir, 'full.db')}`, { sqliteSync: 'full' });
    try {
      assert.equal(walCheckpointerOf(database.db), undefined);
      const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(database.db);
      assert.equal(auto.rows[0]!.wal_autocheckpoint, 1000);
    } finally {
      await database.close();
    }
  });

  test('the worker starts on the first checkpoint and stops when idle; the next checkpoint starts it again', async () => {
    const file = path.join(dir, 'worker.db');
    const db = new Sqlite(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('create table t (x text)');
    db.prepare('insert into t values (?)').run('a');
    const target = new WorkerCheckpointTarget(file, 50);
    const header = new WalIndexHeader(`${file}-shm`);
    try {
      assert.equal(target.starts, 0);
      const frames = header.frames();
      const first = await target.checkpoint();
      assert.equal(frames, first.log, 'the wal-index header counts the frames the checkpoint found');
      assert.equal(first.busy, 0);
      assert.equal(first.checkpointed, first.log, 'every frame copied');
      assert.ok(first.log > 0);
      assert.equal(target.running, true);
      // Stopped by its idle timer (50 ms here); waited for, not timed.
      while (target.running) await new Promise((resolve) => setTimeout(resolve, 20));
      db.prepare('insert into t values (?)').run('b');
      await target.checkpoint();
      assert.equal(target.starts, 2, 'stopped after being idle, started again');
    } finally {
      await target.close();
      db.close();
      header.close();
    }
  });
});
