import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri, type TestDatabase } from '../support/postgres.ts';

/**
 * The hot statements (prepared.ts) go to PostgreSQL as named statements unless
 * TROVE_PG_PREPARED_STATEMENTS turns them off for a pooler that cannot keep them.
 * The pool has one connection, so `pg_prepared_statements` shows what that connection holds.
 */
describe('named PostgreSQL statements', { skip: testPostgresUri() === undefined ? POSTGRES_SKIP_MESSAGE : false }, () => {
  let database: TestDatabase;
  before(async () => {
    database = await createTestDatabase(testPostgresUri() as string, 'trove_prepared');
  });
  after(async () => {
    await database?.drop();
  });

  async function namedStatementsAfterGetRun(preparedStatements: boolean): Promise<string[]> {
    const opened: OpenedDatabase = await openDatabase(database.uri, { poolSize: 1, preparedStatements });
    try {
      const store = new SqlTrackingStore(opened.db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', 0);
      const runId = `run${preparedStatements ? 'on' : 'off'}`.padEnd(32, '0');
      await store.createRun({ runId, experimentId: '0', name: 'r', userId: 'u', status: 'RUNNING', startTime: 0, artifactUri: 'x', tags: [] });
      assert.ok(await store.getRunInfo(runId));
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements order by name`.execute(opened.db);
      return rows.map((row) => row.name);
    } finally {
      await opened.close();
    }
  }

  test('by default the run lookup is prepared once on the connection under a trove_ name', async () => {
    const names = await namedStatementsAfterGetRun(true);
    assert.ok(names.length > 0 && names.every((name) => name.startsWith('trove_')), names.join(','));
  });

  test('with prepared statements off the connection holds no named statement', async () => {
    assert.deepEqual(await namedStatementsAfterGetRun(false), []);
  });
});
