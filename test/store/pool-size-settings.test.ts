import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { databasePoolSizeFromEnv } from '../../src/server-settings.ts';
import { openDatabase } from '../../src/store/sql/database.ts';

describe('PostgreSQL pool size from MLflow settings', () => {
  test('pool size plus max overflow is the connection limit, SQLAlchemy defaults filling the unset one, and unset means the Trove default', () => {
    assert.equal(databasePoolSizeFromEnv({}), undefined);
    assert.equal(databasePoolSizeFromEnv({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '20', MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '0' }), 20);
    assert.equal(databasePoolSizeFromEnv({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '8' }), 18);
    assert.equal(databasePoolSizeFromEnv({ MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '2' }), 7);
    assert.throws(() => databasePoolSizeFromEnv({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: 'many' }), /MLFLOW_SQLALCHEMYSTORE_POOL_SIZE/);
    assert.throws(() => databasePoolSizeFromEnv({ MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: '0', MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: '0' }), /at least 1/);
  });

  const uri = process.env.TROVE_TEST_POSTGRES_URI;
  test('the pool opens no more connections than its size under concurrent statements', { skip: uri ? false : 'TROVE_TEST_POSTGRES_URI not set' }, async () => {
    const opened = await openDatabase(uri as string, { migrate: false, poolSize: 3 });
    try {
      let most = 0;
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          await sql`select pg_sleep(0.02)`.execute(opened.db);
          most = Math.max(most, opened.poolStats?.().total ?? 0);
        }),
      );
      assert.equal(most, 3);
    } finally {
      await opened.close();
    }
  });
});
