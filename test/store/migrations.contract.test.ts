import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { storeBackends } from '../support/store-backends.ts';

for (const backend of storeBackends) {
  describe(`migrations: ${backend.name}`, { skip: backend.skip }, () => {
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
