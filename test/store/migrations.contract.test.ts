import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { storeBackends } from '../support/store-backends.ts';
import { migrate } from '../../src/store/sql/migrate.ts';

for (const backend of storeBackends) {
  describe(`migrations: ${backend.name}`, { skip: backend.skip }, () => {
    const dialect = backend.name === 'SQLite' ? 'sqlite' : 'postgresql';

    test('an up-to-date database is recognised by two reads, without the migrator and its lock', async () => {
      const statements: string[] = [];
      const { database, dispose } = await backend.open({ onQuery: (query) => statements.push(query.sql) });
      try {
        assert.ok(statements.some((text) => text.includes('kysely_migration_lock')), 'the first open ran the migrator');
        statements.length = 0;
        await migrate(database.db, dialect);
        assert.equal(statements.length, 2, statements.join('\n'));
        assert.ok(statements.every((text) => !text.includes('kysely_migration_lock')), statements.join('\n'));
      } finally {
        await dispose();
      }
    });

    test('a database that ran a migration this build does not know is still refused', async () => {
      const { database, dispose } = await backend.open();
      try {
        await sql`insert into kysely_migration (name, timestamp) values ('9999-from-a-newer-build', '2030-01-01T00:00:00.000Z')`.execute(database.db);
        await assert.rejects(migrate(database.db, dialect), /9999-from-a-newer-build/);
      } finally {
        await dispose();
      }
    });
    test('a project created after the migrations gets a new id next to the default project', async () => {
      const { database, dispose } = await backend.open();
      try {
        const row = await database.db
          .insertInto('projects')
          .values({ name: 'fraud', description: null, created_at: Date.now() })
          .returning('id')
          .executeTakeFirstOrThrow();
        assert.ok(Number(row.id) > 1, `new project id ${row.id}`);
        const names = await database.db.selectFrom('projects').select('name').orderBy('id').execute();
        assert.deepEqual(names.map((n) => n.name), ['default', 'fraud']);
      } finally {
        await dispose();
      }
    });
  });
}
