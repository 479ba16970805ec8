import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, sql, type Generated, type LogEvent } from 'kysely';
import { directSqlite, withDirectExecuteQuery } from './direct-sqlite.ts';

interface Db {
  items: { id: Generated<number>; name: string };
}

function fixture(): { sqlite: Sqlite.Database; db: Kysely<Db>; events: LogEvent[] } {
  const sqlite = new Sqlite(':memory:');
  sqlite.exec('create table items (id integer primary key autoincrement, name text not null unique)');
  const db = new Kysely<Db>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { sqlite, db, events: [] };
}

describe('statements run directly on the SQLite connection', () => {
  test('a write and a read give the same result as through Kysely\'s SQLite driver', async () => {
    const { sqlite, db } = fixture();
    const direct = directSqlite(sqlite);
    const insert = (name: string) => CompiledQuery.raw('insert into items (name) values (?)', [name]);
    const throughKysely = await db.executeQuery(insert('a'));
    const directly = direct.execute(insert('b'));
    assert.deepEqual(Object.keys(directly).sort(), Object.keys(throughKysely).sort());
    assert.equal(directly.numAffectedRows, 1n);
    assert.equal(directly.insertId, 2n);
    const select = CompiledQuery.raw('select id, name from items order by id');
    assert.deepEqual(direct.execute(select), await db.executeQuery(select));
    const returning = direct.execute(CompiledQuery.raw('insert into items (name) values (?) returning id, name', ['c']));
    assert.deepEqual(returning.rows, [{ id: 3, name: 'c' }]);
    await db.destroy();
  });

  test('the query observer sees every statement, and a failing one as an error that is also thrown', () => {
    const { sqlite, events } = fixture();
    const direct = directSqlite(sqlite, (event) => events.push(event));
    direct.execute(CompiledQuery.raw('insert into items (name) values (?)', ['a']));
    assert.throws(() => direct.execute(CompiledQuery.raw('insert into items (name) values (?)', ['a'])), /UNIQUE constraint failed/);
    assert.deepEqual(events.map((event) => event.level), ['query', 'error']);
    assert.match(events[1]!.query.sql, /insert into items/);
    assert.ok(events.every((event) => event.queryDurationMillis >= 0));
    sqlite.close();
  });

  test('inside a transaction, the handle runs compiled statements directly and everything else as the transaction itself', async () => {
    const { sqlite, db } = fixture();
    const direct = directSqlite(sqlite);
    const trx = await db.startTransaction().execute();
    const handle = withDirectExecuteQuery(trx, direct);
    // A failing statement rejects the promise; the transaction goes on.
    await assert.rejects(handle.executeQuery(CompiledQuery.raw('insert into missing (x) values (1)')), /no such table/);
    await handle.executeQuery(CompiledQuery.raw('insert into items (name) values (?)', ['direct']));
    // A query builder given to executeQuery is compiled first.
    await handle.executeQuery(handle.insertInto('items').values({ name: 'compiled' }));
    // Builders executed on their own go through the transaction (its private state is reachable).
    await handle.insertInto('items').values({ name: 'builder' }).execute();
    await sql`insert into items (name) values (${'template'})`.execute(handle);
    assert.equal(handle.isTransaction, true);
    const seen = await handle.selectFrom('items').select('name').orderBy('id').execute();
    assert.deepEqual(seen.map((row) => row.name), ['direct', 'compiled', 'builder', 'template']);
    await trx.rollback().execute();
    assert.deepEqual(await db.selectFrom('items').selectAll().execute(), [], 'all of it was in the transaction');
    await db.destroy();
  });
});
