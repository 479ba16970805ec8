import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, sql } from 'kysely';
import { openDatabase, type OpenedDatabase } from './database.ts';
import { GroupCommit, groupCommitOf } from './group-commit.ts';
import { directSqlite } from './direct-sqlite.ts';
import { SqlTrackingStore } from './sql-tracking-store.ts';
import { MlflowError } from '../../domain/errors.ts';
import { TrackingService } from '../../domain/tracking/tracking-service.ts';

const T0 = 1_700_000_000_000;

describe('SQLite group commit', () => {
  let dir: string;
  let database: OpenedDatabase;
  let store: SqlTrackingStore;
  /** Every SQL statement the database ran, in order, from Kysely's query log. */
  const statements: string[] = [];
  let counter = 0;

  const commitsIn = (from: number): number => statements.slice(from).filter((text) => /^commit\b/i.test(text.trim())).length;
  const newExperiment = (tx: SqlTrackingStore | Parameters<Parameters<SqlTrackingStore['transaction']>[0]>[0], name: string): Promise<string> =>
    tx.createExperiment({ projectId: 1, name, artifactLocation: null, artifactLocationFor: (id) => `mlflow-artifacts:/${id}`, tags: [], now: T0 });
  const unique = (label: string): string => `${label}-${++counter}`;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trove-group-commit-'));
    database = await openDatabase(`sqlite:///${path.join(dir, 'trove.db')}`, { onQuery: (query) => statements.push(query.sql) });
    store = new SqlTrackingStore(database.db);
    await store.ensureDefaultExperiment('mlflow-artifacts:/0', T0);
  });

  after(async () => {
    await database.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('two concurrent transactional writes share one COMMIT and both are stored', async () => {
    const group = groupCommitOf(database.db);
    assert.ok(group, 'SQLite databases are opened with group commit');
    const mark = statements.length;
    const commitsBefore = group.stats.commits;
    const [a, b] = await Promise.all([
      store.transaction((tx) => newExperiment(tx, unique('shared-a'))),
      store.transaction((tx) => newExperiment(tx, unique('shared-b'))),
    ]);
    assert.equal(commitsIn(mark), 1);
    assert.equal(group.stats.commits - commitsBefore, 1);
    assert.ok(await store.getExperiment(a));
    assert.ok(await store.getExperiment(b));
  });

  test('concurrent log-batch calls, which each read their run before writing, still share one COMMIT', async () => {
    // Through the tracking service: its reads before the write are what once let the group's BEGIN
    // overtake the other requests' reads, leaving them for later groups (2 members per COMMIT).
    const tracking = new TrackingService(store, 'mlflow-artifacts:/');
    const run = await tracking.createRun({ experimentId: '0' });
    const mark = statements.length;
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        tracking.logBatch({ runId: run.info.runId, metrics: [{ key: 'loss', value: i, timestamp: T0, step: i }], params: [], tags: [] }),
      ),
    );
    assert.equal(commitsIn(mark), 1);
    const history = await store.getMetricHistory({ runPk: run.info.pk, key: 'loss', maxResults: 100, offset: 0 });
    assert.equal(history.length, 8);
  });

  test('a write is acknowledged only after the COMMIT that holds it has returned', async () => {
    const events: string[] = [];
    const mark = statements.length;
    const first = store.transaction(async (tx) => {
      await newExperiment(tx, unique('ack-a'));
      events.push('work a');
    }).then(() => events.push(`ack a after ${commitsIn(mark)} commit(s)`));
    const second = store.transaction(async (tx) => {
      await newExperiment(tx, unique('ack-b'));
      events.push('work b');
    }).then(() => events.push(`ack b after ${commitsIn(mark)} commit(s)`));
    await Promise.all([first, second]);
    assert.deepEqual(events, ['work a', 'work b', 'ack a after 1 commit(s)', 'ack b after 1 commit(s)']);
  });

  test('a failing write in a group rolls back only its own savepoint and gets its own error; the others commit', async () => {
    const mark = statements.length;
    const goodName = unique('kept');
    const badName = unique('rolled-back');
    const results = await Promise.allSettled([
      store.transaction((tx) => newExperiment(tx, goodName)),
      store.transaction(async (tx) => {
        await newExperiment(tx, badName);
        throw MlflowError.invalidParameter('this request is refused');
      }),
      store.transaction((tx) => newExperiment(tx, `${goodName}-too`)),
    ]);
    assert.equal(commitsIn(mark), 1);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[2].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    const error = (results[1] as PromiseRejectedResult).reason as MlflowError;
    assert.ok(error instanceof MlflowError);
    assert.equal(error.code, 'INVALID_PARAMETER_VALUE');
    assert.equal(error.status, 400);
    assert.ok(await store.getExperimentByName(1, goodName));
    assert.ok(await store.getExperimentByName(1, `${goodName}-too`));
    assert.equal(await store.getExperimentByName(1, badName), undefined);
  });

  test('a COMMIT that fails fails every write of its group and stores none of them', async () => {
    await sql`create table if not exists gc_parent (id integer primary key)`.execute(database.db);
    await sql`create table if not exists gc_child (id integer primary key, parent_id integer not null references gc_parent(id))`.execute(database.db);
    const group = groupCommitOf(database.db)!;
    const failedBefore = group.stats.failedGroups;
    const innocentName = unique('innocent');
    const results = await Promise.allSettled([
      store.transaction((tx) => newExperiment(tx, innocentName)),
      store.transaction(async (tx) => {
        // Deferred foreign keys are checked at COMMIT: the savepoint succeeds, the COMMIT fails.
        const trx = (tx as unknown as { db: typeof database.db }).db;
        await sql`pragma defer_foreign_keys = on`.execute(trx);
        await sql`insert into gc_child (id, parent_id) values (1, 999)`.execute(trx);
      }),
    ]);
    assert.equal(results[0].status, 'rejected');
    assert.equal(results[1].status, 'rejected');
    assert.match(String((results[0] as PromiseRejectedResult).reason), /FOREIGN KEY/i);
    assert.equal(group.stats.failedGroups - failedBefore, 1);
    assert.equal(await store.getExperimentByName(1, innocentName), undefined);
    const rows = await sql<{ n: number }>`select count(*) as n from gc_child`.execute(database.db);
    assert.equal(Number(rows.rows[0]!.n), 0);
    // The connection is usable again and the next group commits normally.
    const after = await store.transaction((tx) => newExperiment(tx, unique('after-failure')));
    assert.ok(await store.getExperiment(after));
  });

  test('a read outside the group waits for its COMMIT and never sees rows of a member before that COMMIT', async () => {
    const name = unique('not-yet');
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let writeAcknowledged = false;
    const write = store.transaction(async (tx) => {
      await newExperiment(tx, name);
      entered();
      await gate;
    }).then(() => {
      writeAcknowledged = true;
    });
    await inside;
    let readSettled = false;
    const read = store.getExperimentByName(1, name).then((found) => {
      readSettled = true;
      return { found, writeAcknowledged };
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    assert.equal(readSettled, false, 'the read waits while the group holds the connection');
    release();
    await write;
    const seen = await read;
    assert.ok(seen.found, 'after the COMMIT the read sees the row');
  });

  test('a metric key created by a request that was rolled back is not remembered, so a later request does not reuse its id', async () => {
    const tracking = new TrackingService(store, 'mlflow-artifacts:/');
    const run = await tracking.createRun({ experimentId: '0' });
    const key = unique('fresh-key');
    const point = (step: number) => [{ key, value: step, timestamp: T0, step }];
    const results = await Promise.allSettled([
      store.transaction(async (tx) => {
        await tx.logMetrics(run.info.pk, point(1));
        throw MlflowError.invalidParameter('refused after creating the key');
      }),
      // A new key of its own, which gets the id the rolled-back request had given its key.
      store.transaction((tx) => tx.logMetrics(run.info.pk, [{ key: `${key}-other`, value: 0, timestamp: T0, step: 0 }])),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'fulfilled']);
    // A stale id remembered from the rolled-back request would file this point under the other key.
    await store.transaction((tx) => tx.logMetrics(run.info.pk, point(3)));
    const history = await store.getMetricHistory({ runPk: run.info.pk, key, maxResults: 10, offset: 0 });
    assert.deepEqual(history.map((m) => m.step), [3]);
  });

  test('create-run and log-batch started while a group is open check their experiment or run inside it and join its COMMIT', async () => {
    const tracking = new TrackingService(store, 'mlflow-artifacts:/');
    const run = await tracking.createRun({ experimentId: '0' });
    const group = groupCommitOf(database.db);
    assert.ok(group);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let began!: () => void;
    const begun = new Promise<void>((resolve) => (began = resolve));
    const commitsBefore = group.stats.commits;
    // A member that keeps the group (and the only SQLite connection) open until released.
    const holder = store.transaction(async (tx) => {
      began();
      await held;
      return newExperiment(tx, unique('holder'));
    });
    await begun;
    // A read on the root handle would wait for this group's COMMIT and so miss it: these two read
    // through their transaction and join the open group instead.
    const created = tracking.createRun({ experimentId: '0', runName: 'joined' });
    const logged = tracking.logBatch({ runId: run.info.runId, metrics: [{ key: 'joined', value: 1, timestamp: T0, step: 0 }], params: [], tags: [] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    release();
    const [, newRun] = await Promise.all([holder, created, logged]);
    assert.equal(group.stats.commits - commitsBefore, 1, 'one COMMIT for all three');
    assert.equal(newRun.info.runName, 'joined');
    assert.deepEqual(newRun.tags.find((t) => t.key === 'mlflow.runName'), { key: 'mlflow.runName', value: 'joined' });
    const history = await store.getMetricHistory({ runPk: run.info.pk, key: 'joined', maxResults: 10, offset: 0 });
    assert.equal(history.length, 1);
  });

  test('create-run runs two statements in its transaction: the run inserted from its checked experiment, then its tags', async () => {
    // The experiment's check is the insert's own select and the answer is built from the inserted
    // row, so neither a read before nor a read back after. (With an audit log, its entry is a third.)
    const tracking = new TrackingService(store, 'mlflow-artifacts:/');
    const mark = statements.length;
    const run = await tracking.createRun({ experimentId: '0', runName: 'counted', tags: [{ key: 'team', value: 'red' }] });
    assert.equal(run.info.runName, 'counted');
    const work = statements.slice(mark).filter((text) => !/^(savepoint|release|commit|begin)\b/i.test(text.trim()));
    assert.deepEqual(
      work.map((text) => text.trim().split(/\s+/).slice(0, 3).join(' ').replace(/"/g, '')),
      ['insert into runs', 'insert into run_tags'],
      work.join('\n'),
    );
    assert.ok(!work.some((text) => /experiment_tags/.test(text)), work.join('\n'));
    assert.equal(commitsIn(mark), 1);
  });

  test('a member that changes many pages keeps its savepoint journal in memory, not in a temp file', async () => {
    // SQLite names its temp files etilqs_*; they are unlinked at once but stay open while used.
    const openTempFiles = (): string[] =>
      fs.readdirSync('/proc/self/fd').flatMap((fd) => {
        try {
          const target = fs.readlinkSync(path.join('/proc/self/fd', fd));
          return target.includes('etilqs_') ? [target] : [];
        } catch {
          return [];
        }
      });
    // A savepoint journals the pages that existed when it began (new pages need no journal), so
    // the rows are written first and changed inside the member: ~40 pages of 4 KB tags, far past
    // the 16 pages after which a file-backed statement journal spills.
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      ids.push(await store.createExperiment({ projectId: 1, name: unique('wide'), artifactLocation: null, artifactLocationFor: (id) => `mlflow-artifacts:/${id}`, tags: [{ key: 'note', value: 'n'.repeat(4000) }], now: T0 }));
    }
    let seen: string[] = ['not checked'];
    await store.transaction(async (tx) => {
      for (const id of ids) await tx.setExperimentTag(id, { key: 'note', value: 'm'.repeat(4000) });
      seen = openTempFiles();
    });
    assert.deepEqual(seen, []);
  });

  test('a nested transaction() inside a group member runs in that member', async () => {
    const mark = statements.length;
    const id = await store.transaction((tx) => tx.transaction((inner) => newExperiment(inner, unique('nested'))));
    assert.equal(commitsIn(mark), 1);
    assert.ok(await store.getExperiment(id));
  });
});

describe('SQLite group commit with a direct executor', () => {
  test('the members\' savepoints and compiled statements run on it, and a failing member is rolled back to its savepoint there', async () => {
    const sqlite = new Sqlite(':memory:');
    sqlite.exec('create table items (name text not null)');
    const db = new Kysely<{ items: { name: string } }>({ dialect: new SqliteDialect({ database: sqlite }) });
    const ran: string[] = [];
    const executor = directSqlite(sqlite);
    const group = new GroupCommit(db, { direct: { execute: <R>(query: CompiledQuery) => (ran.push(query.sql), executor.execute<R>(query)) } });
    const insert = (name: string) => CompiledQuery.raw('insert into items (name) values (?)', [name]);
    const results = await Promise.allSettled([
      group.run((trx) => trx.executeQuery(insert('kept'))),
      group.run(async (trx) => {
        await trx.executeQuery(insert('refused'));
        throw new Error('refused');
      }),
    ]);
    assert.deepEqual(results.map((result) => result.status), ['fulfilled', 'rejected']);
    assert.deepEqual(ran, [
      'savepoint trove_member', 'insert into items (name) values (?)', 'release trove_member',
      'savepoint trove_member', 'insert into items (name) values (?)', 'rollback to trove_member', 'release trove_member',
    ]);
    assert.deepEqual(await db.selectFrom('items').select('name').execute(), [{ name: 'kept' }]);
    await db.destroy();
  });
});
