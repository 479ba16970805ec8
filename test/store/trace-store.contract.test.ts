import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTraceStore } from '../../src/store/sql/sql-trace-store.ts';
import type { SpanRow, TraceCore, TraceSearchQuery } from '../../src/store/trace-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * The TraceStore contract on SQLite and PostgreSQL: traces with tags and metadata, span upserts,
 * search clauses (attributes, tags, metadata, IS NULL, run links) and ordering, deletion of every
 * child row, assessments, project scoping.
 */

const T0 = 1_700_000_000_000;
const newId = (): string => `tr-${randomBytes(16).toString('hex')}`;

function core(traceId: string, overrides: Partial<TraceCore> = {}): TraceCore {
  return {
    traceId,
    projectId: 1,
    experimentId: '0',
    requestTime: T0,
    executionDuration: 10,
    state: 'OK',
    clientRequestId: null,
    requestPreview: null,
    responsePreview: null,
    ...overrides,
  };
}

function span(traceId: string, spanId: string, parent: string | null, start: string): SpanRow {
  return { traceId, spanId, parentSpanId: parent, name: `s-${spanId}`, startTimeNs: start, content: JSON.stringify({ span_id: spanId }) };
}

for (const backend of storeBackends) {
  describe(`TraceStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlTraceStore;
    let experimentId: string;

    before(async () => {
      ({ database, dispose } = await backend.open());
      store = new SqlTraceStore(database.db);
      // Each test works in an experiment id of its own (traces reference experiments by id only).
      experimentId = String(1000 + Math.floor(Math.random() * 1000));
    });
    after(async () => {
      await dispose?.();
    });

    const query = (overrides: Partial<TraceSearchQuery> = {}): TraceSearchQuery => ({
      projectId: 1,
      experimentIds: [experimentId],
      clauses: [],
      orderBy: [],
      offset: 0,
      limit: 100,
      ...overrides,
    });

    test('a trace reads back with its tags, metadata and assessments; tags and metadata upsert', async () => {
      const id = newId();
      await store.insertTrace(core(id, { experimentId, requestPreview: 'in', clientRequestId: 'c1' }));
      await store.setTags(id, { a: '1', b: '2' });
      await store.setTags(id, { a: '3' });
      await store.setMetadata(id, { m: 'x' });
      await store.insertAssessment({ assessmentId: `a-${id}`, traceId: id, name: 'q', createTime: T0, lastUpdateTime: T0, body: { feedback: { value: [1, { k: true }] } } });
      const [trace] = await store.getTraces([id, 'tr-missing']);
      assert.ok(trace);
      assert.deepEqual(trace.tags, { a: '3', b: '2' });
      assert.deepEqual(trace.metadata, { m: 'x' });
      assert.equal(trace.requestPreview, 'in');
      assert.equal(trace.clientRequestId, 'c1');
      assert.equal(trace.experimentId, experimentId);
      assert.deepEqual(trace.assessments.map((a) => a.body), [{ feedback: { value: [1, { k: true }] } }]);
      assert.equal(await store.deleteTag(id, 'b'), true);
      assert.equal(await store.deleteTag(id, 'b'), false);
    });

    test('spans upsert by (trace, span) and nanosecond times beyond 2^53 survive', async () => {
      const id = newId();
      await store.insertTrace(core(id, { experimentId }));
      await store.upsertSpans([span(id, 'aaaa', null, '1700000000000000001'), span(id, 'bbbb', 'aaaa', '1700000000000000002')]);
      await store.upsertSpans([{ ...span(id, 'bbbb', 'aaaa', '1700000000000000003'), name: 'renamed' }]);
      const rows = await store.getSpans([id]);
      assert.equal(rows.length, 2);
      const b = rows.find((r) => r.spanId === 'bbbb');
      assert.equal(b?.name, 'renamed');
      assert.equal(b?.startTimeNs, '1700000000000000003');
      assert.equal(await store.countSpans(id), 2);
    });

    test('search filters on attributes, tags, metadata, names, run links and orders with tie-breakers', async () => {
      const exp = String(3000 + Math.floor(Math.random() * 1000));
      const [a, b, c] = [newId(), newId(), newId()];
      await store.insertTrace(core(a, { experimentId: exp, requestTime: T0 + 1, executionDuration: 5, state: 'OK' }));
      await store.insertTrace(core(b, { experimentId: exp, requestTime: T0 + 2, executionDuration: 50, state: 'ERROR' }));
      await store.insertTrace(core(c, { experimentId: exp, requestTime: T0 + 3, executionDuration: null, state: 'IN_PROGRESS' }));
      await store.setTags(a, { user: 'u1', 'mlflow.traceName': 'alpha' });
      await store.setTags(b, { user: 'u2', 'mlflow.traceName': 'beta' });
      await store.setMetadata(a, { 'mlflow.sourceRun': 'run1' });
      await store.linkTracesToRun([b], 'run1');
      const q = (overrides: Partial<TraceSearchQuery>) => store.searchTraceIds({ ...query({ experimentIds: [exp] }), ...overrides });
      assert.deepEqual(await q({}), [c, b, a]);
      assert.deepEqual(await q({ clauses: [{ entity: 'tag', key: 'user', comparator: '=', value: 'u1' }] }), [a]);
      assert.deepEqual(await q({ clauses: [{ entity: 'tag', key: 'user', comparator: '!=', value: 'u1' }] }), [b], 'a trace without the tag never matches');
      assert.deepEqual(await q({ clauses: [{ entity: 'tag', key: 'user', comparator: 'IS NULL', value: null }] }), [c]);
      assert.deepEqual(await q({ clauses: [{ entity: 'tag', key: 'user', comparator: 'ILIKE', value: 'U%' }] }), [b, a]);
      assert.deepEqual(await q({ clauses: [{ entity: 'tag', key: 'user', comparator: 'LIKE', value: 'U%' }] }), [], 'LIKE is case-sensitive');
      assert.deepEqual(await q({ clauses: [{ entity: 'attribute', key: 'status', comparator: 'IN', value: ['OK', 'ERROR'] }] }), [b, a]);
      assert.deepEqual(await q({ clauses: [{ entity: 'attribute', key: 'execution_time_ms', comparator: '>', value: 10 }] }), [b]);
      assert.deepEqual(await q({ clauses: [{ entity: 'attribute', key: 'timestamp_ms', comparator: '<=', value: T0 + 2 }] }), [b, a]);
      assert.deepEqual(await q({ clauses: [{ entity: 'attribute', key: 'end_time_ms', comparator: '>=', value: T0 + 52 }] }), [b]);
      assert.deepEqual(await q({ clauses: [{ entity: 'metadata', key: 'mlflow.sourceRun', comparator: '=', value: 'run1' }] }), [a]);
      assert.deepEqual((await q({ clauses: [{ entity: 'attribute', key: 'run_id', comparator: '=', value: 'run1' }] })).sort(), [a, b].sort());
      assert.deepEqual(await q({ orderBy: [{ key: 'execution_time_ms', ascending: true }] }), [a, b, c], 'unknown values last');
      assert.deepEqual(await q({ orderBy: [{ key: 'name', ascending: false }] }), [b, a, c]);
      assert.deepEqual(await q({ offset: 1, limit: 1 }), [b]);
      assert.deepEqual(await q({ projectId: 2 }), [], 'another project sees nothing');
    });

    test('old traces are found oldest first and deletion takes every child row with it', async () => {
      const exp = String(5000 + Math.floor(Math.random() * 1000));
      const ids = [newId(), newId(), newId()];
      for (const [i, id] of ids.entries()) {
        await store.insertTrace(core(id, { experimentId: exp, requestTime: T0 + i }));
        await store.setTags(id, { t: 'x' });
        await store.setMetadata(id, { m: 'y' });
        await store.upsertSpans([span(id, 'cccc', null, '1')]);
        await store.insertAssessment({ assessmentId: `a-${id}`, traceId: id, name: 'n', createTime: T0, lastUpdateTime: T0, body: {} });
        await store.linkTracesToRun([id], 'r');
      }
      assert.deepEqual(await store.findOldTraces(1, exp, T0 + 1, null), ids.slice(0, 2));
      assert.deepEqual(await store.findOldTraces(1, exp, T0 + 5, 1), ids.slice(0, 1));
      assert.equal(await store.deleteTraces([ids[0]!, ids[1]!, 'tr-none']), 2);
      for (const table of ['spans', 'trace_tags', 'trace_metadata', 'assessments', 'trace_run_links', 'traces'] as const) {
        const rows = await database.db.selectFrom(table).select('trace_id').where('trace_id', 'in', ids.slice(0, 2)).execute();
        assert.equal(rows.length, 0, table);
      }
      assert.equal((await store.getTraces([ids[2]!])).length, 1);
      assert.deepEqual(await store.linkedRuns(ids[2]!), ['r']);
    });

    test('a failed transaction leaves nothing behind', async () => {
      const id = newId();
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertTrace(core(id, { experimentId }));
          await tx.setTags(id, { a: 'b' });
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await store.getTraces([id]), []);
    });
  });
}
