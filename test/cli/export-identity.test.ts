import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportSourceIdentity } from '../../src/cli/export/export-identity.ts';
import { SqlImportStore } from '../../src/store/sql/sql-import-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/** The identity `trove export --to` marks its runs and experiments with: one per store and project, kept across exports. */

test('a store keeps its export identity across exports, each project has its own, and another store gets another', async () => {
  const [sqlite] = storeBackends;
  const a = await sqlite!.open();
  const b = await sqlite!.open();
  try {
    const first = await exportSourceIdentity(new SqlImportStore(a.database.db), 0);
    assert.equal(await exportSourceIdentity(new SqlImportStore(a.database.db), 0), first);
    const otherProject = await exportSourceIdentity(new SqlImportStore(a.database.db), 3);
    assert.notEqual(otherProject, first);
    assert.equal(otherProject.split('/')[0], first.split('/')[0]);
    const otherStore = await exportSourceIdentity(new SqlImportStore(b.database.db), 0);
    assert.notEqual(otherStore.split('/')[0], first.split('/')[0]);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});
