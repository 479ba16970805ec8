import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeBackendStoreUri, isPostgresUri, openDatabase, toPgConnectionString } from './database.ts';

describe('backend store URIs', () => {
  test('MLflow\'s PostgreSQL forms are recognised, SQLAlchemy driver suffix included', () => {
    for (const uri of ['postgresql://u:p@h:5432/db', 'postgres://u@h/db', 'postgresql+psycopg2://u:p@h/db', 'postgresql+pg8000://h/db']) {
      assert.equal(isPostgresUri(uri), true, uri);
    }
    assert.equal(isPostgresUri('sqlite:///x.db'), false);
    assert.equal(isPostgresUri('mysql://u:p@h/db'), false);
  });

  test('the driver suffix is dropped and everything else is kept for node-postgres', () => {
    assert.equal(
      toPgConnectionString('postgresql+psycopg2://trove:s3cret@db.example:5433/trove?sslmode=require'),
      'postgresql://trove:s3cret@db.example:5433/trove?sslmode=require',
    );
  });

  test('a printed description never contains the password', () => {
    assert.equal(describeBackendStoreUri('postgresql://trove:s3cret@db.example:5432/trove'), 'postgresql://trove:***@db.example:5432/trove');
    assert.equal(describeBackendStoreUri('postgresql+psycopg2://trove:p%40ss@h/db'), 'postgresql+psycopg2://trove:***@h/db');
    assert.equal(describeBackendStoreUri('postgresql://h/db?user=trove&password=s3cret&sslmode=require'), 'postgresql://h/db?user=trove&password=***&sslmode=require');
    assert.equal(describeBackendStoreUri('postgresql://trove@h/db'), 'postgresql://trove@h/db');
    assert.equal(describeBackendStoreUri('sqlite:///./trove.db'), 'sqlite:///./trove.db');
  });

  test('an unreachable database is reported by its masked URI and the cause', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    await assert.rejects(openDatabase('postgresql://trove:hunter2@127.0.0.1:1/trove'), (error: Error) => {
      assert.match(error.message, /^Cannot prepare the backend store postgresql:\/\/trove:\*\*\*@127\.0\.0\.1:1\/trove: .*ECONNREFUSED/);
      assert.ok(!error.message.includes('hunter2'));
      return true;
    });
  });

  test('an unsupported URI is refused with its password masked in the message', async () => {
    await assert.rejects(openDatabase('mysql://root:hunter2@db/trove'), (error: Error) => {
      assert.match(error.message, /Unsupported backend store URI 'mysql:\/\/root:\*\*\*@db\/trove'/);
      assert.ok(!error.message.includes('hunter2'));
      return true;
    });
  });
});
