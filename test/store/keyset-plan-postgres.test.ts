import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CompiledQuery, sql } from 'kysely';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import type { PagePosition, RunSearchQuery } from '../../src/store/tracking-store.ts';
import { createTestDatabase, POSTGRES_SKIP_MESSAGE, testPostgresUri, type TestDatabase } from '../support/postgres.ts';

/**
 * The PostgreSQL plan of a deep keyset page of a metric-ordered, filtered search once another
 * experiment holds more runs than the searched one (as after the bench's write rounds) and the
 * statistics say so: the page must still walk a latest_metrics value index in order and stop
 * after the page, not read and sort every match past the position.
 */

const SEARCHED_RUNS = 6_000;
const OTHER_RUNS = 12_000;

const uri = testPostgresUri();

describe('keyset deep page plan on PostgreSQL', { skip: uri ? false : POSTGRES_SKIP_MESSAGE }, () => {
  let testDb: TestDatabase;
  let database: OpenedDatabase;
  let captured: CompiledQuery[] | undefined;

  before(async () => {
    testDb = await createTestDatabase(uri as string, 'trove_keyset_plan');
    database = await openDatabase(testDb.uri, { onQuery: (query) => captured?.push(query) });
    const db = database.db;
    // Bulk rows straight into the tables: the searched experiment's runs each have `acc` and a
    // `model` param; the other experiment's runs (ids after them) have neither.
    await sql`insert into experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time)
      values (1, 'searched', 'x', 'active', 0, 0), (2, 'other', 'x', 'active', 0, 0)`.execute(db);
    await sql`insert into runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri)
      select md5('s' || g), 1, 's' || g, 'u', 'FINISHED', 1700000000000 + g, null, 'active', 'x' from generate_series(1, ${SEARCHED_RUNS}) g`.execute(db);
    await sql`insert into runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri)
      select md5('o' || g), 2, 'o' || g, 'u', 'FINISHED', 1800000000000 + g, null, 'active', 'x' from generate_series(1, ${OTHER_RUNS}) g`.execute(db);
    await sql`insert into metric_keys (key) values ('acc')`.execute(db);
    await sql`insert into latest_metrics (run_id, key_id, step, timestamp, value, is_nan, experiment_id)
      select r.id, k.id, 0, 0, ((r.id * 7919) % 10007) / 10007.0, 0, 1 from runs r, metric_keys k where r.experiment_id = 1`.execute(db);
    await sql`insert into params (run_id, key, value)
      select r.id, 'model', case when r.id % 5 < 3 then 'a' else 'b' end from runs r where r.experiment_id = 1`.execute(db);
    await sql`analyze`.execute(db);
  });

  after(async () => {
    await database?.close();
    await testDb?.drop();
  });

  test('a deep keyset page of a filtered metric order walks the index in order after another experiment outgrew the searched one', async () => {
    const store = new SqlTrackingStore(database.db);
    const query: RunSearchQuery = {
      experimentIds: ['1'],
      filter: [
        { entity: 'metric', key: 'acc', comparator: '>', value: 0.3 },
        { entity: 'param', key: 'model', comparator: '=', value: 'a' },
      ],
      orderBy: [{ entity: 'metric', key: 'acc', ascending: false }],
      viewType: 'ACTIVE_ONLY',
      maxResults: 100,
      page: { offset: 0, snapshot: null },
    };
    const deep = (await store.searchRuns({ ...query, maxResults: 1_500 })).next as PagePosition;
    assert.ok(deep?.after, 'a keyset position after 1,500 rows');
    captured = [];
    const page = await store.searchRuns({ ...query, page: deep });
    const statements = captured;
    captured = undefined;
    assert.equal(page.items.length, 100);
    const search = statements.find((s) => s.sql.includes('"lm"."value" as "k0"'));
    assert.ok(search, 'the walk statement was captured');
    const explained = await database.db.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain ${search.sql}`, [...search.parameters]));
    const plan = explained.rows.map((row) => row['QUERY PLAN']).join('\n');
    // Either latest_metrics value index (here only the searched experiment has the metric).
    assert.match(plan, /Index (Only )?Scan Backward using latest_metrics_(experiment_)?key_value_idx/, `the walk reads latest values in order:\n${plan}`);
    assert.match(plan, /Incremental Sort/, `the page is sorted only within ties of the walked value:\n${plan}`);
    assert.doesNotMatch(plan, /Merge Join|Hash Join|Bitmap/, `no join that reads every match first:\n${plan}`);
  });
});
