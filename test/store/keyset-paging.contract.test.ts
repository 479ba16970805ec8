import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { decodePageToken, encodePageToken } from '../../src/domain/page-token.ts';
import { SqlRegistryStore } from '../../src/store/sql/sql-registry-store.ts';
import { SqlTraceStore } from '../../src/store/sql/sql-trace-store.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { InvalidPageTokenError } from '../../src/store/store-errors.ts';
import type { TraceOrderBy } from '../../src/store/trace-store.ts';
import type { Page, PagePosition, StoreFilterClause, StoreOrderBy } from '../../src/store/tracking-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * Keyset paging, on both databases: paging through a search with small pages gives exactly the
 * rows of one big page, in the same order — no row twice, none missing — under every order form
 * (defaults, NULLs last in both directions, ties, several keys, ±Infinity and NaN metrics), also
 * while rows are inserted between page requests (those never show up in a search already paging).
 * Every position goes through a real page token (encode, decode) between pages.
 */

const T0 = 1_700_000_000_000;
const uid = (): string => randomBytes(16).toString('hex');
const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

/** Pages through a search; `between` runs after every page (to insert rows concurrently). */
async function pageThrough<T>(
  fetch: (page: PagePosition, maxResults: number) => Promise<Page<T>>,
  maxResults: number,
  between: (pageNumber: number) => Promise<void> = async () => {},
): Promise<T[]> {
  const items: T[] = [];
  let position: PagePosition = { offset: 0, snapshot: null };
  for (let pageNumber = 0; pageNumber < 1000; pageNumber++) {
    const page = await fetch(position, maxResults);
    items.push(...page.items);
    if (!page.next) return items;
    await between(pageNumber);
    position = decodePageToken(encodePageToken(page.next));
    assert.ok(position.after, 'the next page token is a keyset token');
  }
  throw new Error('paging did not end');
}

function assertSameSequence(paged: string[], whole: string[], label: string): void {
  assert.equal(new Set(paged).size, paged.length, `${label}: a row came twice`);
  assert.deepEqual(paged, whole, `${label}: paging differs from one page`);
}

for (const backend of storeBackends) {
  describe(`Keyset paging contract: ${backend.name}`, { skip: backend.skip }, () => {
    let dispose: () => Promise<void>;
    let tracking: SqlTrackingStore;
    let registry: SqlRegistryStore;
    let traces: SqlTraceStore;

    before(async () => {
      const opened = await backend.open();
      dispose = opened.dispose;
      tracking = new SqlTrackingStore(opened.database.db);
      registry = new SqlRegistryStore(opened.database.db);
      traces = new SqlTraceStore(opened.database.db);
      await tracking.ensureDefaultExperiment('mlflow-artifacts:/0', T0);
    });

    after(async () => {
      await dispose?.();
    });

    async function newExperiment(name = unique('exp'), now = T0): Promise<string> {
      return tracking.createExperiment({ projectId: 1, name, artifactLocation: null, artifactLocationFor: (id) => `mlflow-artifacts:/${id}`, tags: [], now });
    }

    /** Run i: start time with ties, metric m with ties, gaps, NaN and infinities, param p with gaps. */
    async function seedRun(experimentId: string, i: number): Promise<void> {
      const runId = uid();
      await tracking.createRun({
        runId,
        experimentId,
        name: `run-${String(i % 7).padStart(2, '0')}`,
        userId: 'alice',
        status: 'RUNNING',
        startTime: T0 + (i % 4),
        artifactUri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
        tags: i % 3 === 0 ? [] : [{ key: 't', value: `tag-${i % 2}` }],
      });
      const info = await tracking.getRunInfo(runId);
      assert.ok(info);
      if (i % 5 !== 0) {
        const special = [NaN, Infinity, -Infinity];
        const value = i % 11 === 1 ? (special[i % 3] as number) : (i % 6) / 2;
        await tracking.logMetrics(info.pk, [{ key: 'm', value, step: 0, timestamp: T0 }]);
      }
      if (i % 4 !== 0) await tracking.insertParams(info.pk, [{ key: 'p', value: `v${i % 3}` }]);
      if (i % 2 === 0) await tracking.updateRunInfo(info.pk, { endTime: T0 + 100 + (i % 3) });
    }

    const metric = (key: string, ascending: boolean): StoreOrderBy => ({ entity: 'metric', key, ascending });
    const attribute = (key: string, ascending: boolean): StoreOrderBy => ({ entity: 'attribute', key, ascending });
    const RUN_ORDERS: Array<{ label: string; orderBy: StoreOrderBy[]; filter?: StoreFilterClause[] }> = [
      { label: 'default order', orderBy: [] },
      { label: 'metric descending', orderBy: [metric('m', false)] },
      { label: 'metric ascending', orderBy: [metric('m', true)] },
      { label: 'metric then param', orderBy: [metric('m', false), { entity: 'param', key: 'p', ascending: true }] },
      { label: 'param descending', orderBy: [{ entity: 'param', key: 'p', ascending: false }] },
      { label: 'nullable end time', orderBy: [attribute('end_time', true)] },
      { label: 'start time then tag', orderBy: [attribute('start_time', true), { entity: 'tag', key: 't', ascending: false }] },
      { label: 'name descending', orderBy: [attribute('run_name', false)] },
      { label: 'unknown metric', orderBy: [metric('never-logged', true)] },
      {
        label: 'metric filter and order',
        orderBy: [metric('m', false)],
        filter: [{ entity: 'metric', key: 'm', comparator: '>=', value: 0.5 }],
      },
      {
        label: 'param filter and metric order',
        orderBy: [metric('m', true)],
        filter: [{ entity: 'param', key: 'p', comparator: '!=', value: 'v1' }],
      },
    ];

    test('runs page through every order form without duplicates or gaps, while new runs arrive', async () => {
      const experimentId = await newExperiment();
      for (let i = 0; i < 40; i++) await seedRun(experimentId, i);
      let extra = 100;
      for (const { label, orderBy, filter = [] } of RUN_ORDERS) {
        const search = (page: PagePosition, maxResults: number) =>
          tracking.searchRuns({ experimentIds: [experimentId], filter, orderBy, viewType: 'ACTIVE_ONLY', maxResults, page });
        for (const size of [1, 3, 7]) {
          const whole = (await search({ offset: 0, snapshot: null }, 1000)).items.map((r) => r.info.runId);
          assert.ok(whole.length > 5, `${label}: the seed matches`);
          const paged = await pageThrough(search, size, async () => {
            if (size === 3) await seedRun(experimentId, extra++);
          });
          assertSameSequence(paged.map((r) => r.info.runId), whole, `${label}, pages of ${size}`);
        }
      }
    });

    test('a page token of another order is refused, and an old offset token is still served', async () => {
      const experimentId = await newExperiment();
      for (let i = 0; i < 12; i++) await seedRun(experimentId, i);
      const query = { experimentIds: [experimentId], filter: [], viewType: 'ACTIVE_ONLY' as const, maxResults: 5 };
      const first = await tracking.searchRuns({ ...query, orderBy: [], page: { offset: 0, snapshot: null } });
      assert.ok(first.next?.after);
      await assert.rejects(
        tracking.searchRuns({ ...query, orderBy: [metric('m', true), attribute('run_name', true)], page: first.next }),
        InvalidPageTokenError,
      );
      const whole = (await tracking.searchRuns({ ...query, maxResults: 100, orderBy: [], page: { offset: 0, snapshot: null } })).items.map((r) => r.info.runId);
      const legacy = await tracking.searchRuns({ ...query, orderBy: [], page: { offset: 5, snapshot: first.next.snapshot } });
      assert.deepEqual(legacy.items.map((r) => r.info.runId), whole.slice(5, 10));
      assert.ok(legacy.next?.after, 'an offset page hands out a keyset token');
      const rest = await tracking.searchRuns({ ...query, maxResults: 100, orderBy: [], page: legacy.next });
      assert.deepEqual(rest.items.map((r) => r.info.runId), whole.slice(10));
    });

    test('an old offset token lands on the same rows as one big page under a metric order, on both sides of the NULLs', async () => {
      const experimentId = await newExperiment();
      for (let i = 0; i < 30; i++) await seedRun(experimentId, i);
      for (const orderBy of [[metric('m', false)], [metric('m', true), { entity: 'param' as const, key: 'p', ascending: true }]]) {
        const query = { experimentIds: [experimentId], filter: [], orderBy, viewType: 'ACTIVE_ONLY' as const };
        const whole = (await tracking.searchRuns({ ...query, maxResults: 1000, page: { offset: 0, snapshot: null } })).items.map((r) => r.info.runId);
        for (const offset of [1, 7, 20, 23, 24, 25, 29, 30, 35]) {
          const page = await tracking.searchRuns({ ...query, maxResults: 4, page: { offset, snapshot: null } });
          assert.deepEqual(page.items.map((r) => r.info.runId), whole.slice(offset, offset + 4), `offset ${offset}`);
          const rest = page.next ? (await tracking.searchRuns({ ...query, maxResults: 1000, page: page.next })).items.map((r) => r.info.runId) : [];
          assert.deepEqual(rest, whole.slice(offset + 4), `after offset ${offset}`);
        }
      }
    });

    test('experiments page through their order forms without duplicates or gaps', async () => {
      const names: string[] = [];
      for (let i = 0; i < 15; i++) {
        const name = unique(`kx-${i % 4}`);
        names.push(name);
        await newExperiment(name, T0 + (i % 3));
      }
      const filter: StoreFilterClause[] = [{ entity: 'attribute', key: 'name', comparator: 'LIKE', value: 'kx-%' }];
      for (const orderBy of [[], [attribute('creation_time', true)], [attribute('name', false)], [attribute('last_update_time', false), attribute('name', true)]]) {
        const search = (page: PagePosition, maxResults: number) =>
          tracking.searchExperiments({ projectId: 1, filter, orderBy, viewType: 'ALL', maxResults, page });
        const whole = (await search({ offset: 0, snapshot: null }, 1000)).items.map((e) => e.experimentId);
        assert.ok(whole.length >= 15);
        const paged = await pageThrough(search, 4, async () => void (await newExperiment(unique('kx-9'), T0 + 1)));
        assertSameSequence(paged.map((e) => e.experimentId), whole, JSON.stringify(orderBy));
      }
    });

    test('logged models page through their order forms without duplicates or gaps', async () => {
      const experimentId = await newExperiment();
      const create = async (i: number) => {
        const modelId = `m-${uid()}`;
        await tracking.createLoggedModel({
          modelId,
          experimentId,
          name: `model-${i % 3}`,
          artifactUri: `mlflow-artifacts:/${experimentId}/models/${modelId}/artifacts`,
          status: 'READY',
          creatorId: null,
          modelType: i % 2 === 0 ? null : 'sklearn',
          sourceRunId: null,
          params: [],
          tags: [],
          timestamp: T0 + (i % 4),
        });
      };
      for (let i = 0; i < 14; i++) await create(i);
      let extra = 100;
      for (const orderBy of [[], [attribute('name', true)], [attribute('model_type', false)], [attribute('creation_timestamp', true), attribute('name', false)]]) {
        const search = (page: PagePosition, maxResults: number) =>
          tracking.searchLoggedModels({ experimentIds: [experimentId], filter: [], orderBy, datasets: [], maxResults, page });
        const whole = (await search({ offset: 0, snapshot: null }, 1000)).items.map((m) => m.modelId);
        assert.equal(whole.length, 14 + extra - 100);
        const paged = await pageThrough(search, 3, () => create(extra++));
        assertSameSequence(paged.map((m) => m.modelId), whole, JSON.stringify(orderBy));
      }
    });

    test('registered models and model versions page through their order forms without duplicates or gaps', async () => {
      const prefix = unique('km');
      const pks: number[] = [];
      for (let i = 0; i < 9; i++) {
        pks.push(await registry.createRegisteredModel({ projectId: 1, name: `${prefix}-${i}`, description: null, userId: 'alice', tags: [], now: T0 + (i % 3) }));
      }
      const addVersion = async (i: number) => {
        await registry.createModelVersion({
          modelPk: pks[i % pks.length] as number,
          source: 'models:/m-1',
          storageLocation: 'mlflow-artifacts:/0/models/m-1/artifacts',
          runId: i % 3 === 0 ? null : `run-${i % 2}`,
          runLink: null,
          description: null,
          userId: 'alice',
          status: 'READY',
          stage: 'None',
          modelId: null,
          modelParams: [],
          modelMetrics: [],
          tags: [],
          now: T0 + (i % 5),
        });
      };
      for (let i = 0; i < 25; i++) await addVersion(i);
      const filter: StoreFilterClause[] = [{ entity: 'attribute', key: 'name', comparator: 'LIKE', value: `${prefix}-%` }];
      let extraModel = 100;
      for (const orderBy of [[], [attribute('creation_timestamp', false)], [attribute('last_updated_timestamp', true), attribute('name', false)]]) {
        const search = (page: PagePosition, maxResults: number) =>
          registry.searchRegisteredModels({ projectId: 1, filter, excludePrompts: false, orderBy, maxResults, page });
        const whole = (await search({ offset: 0, snapshot: null }, 1000)).items.map((m) => m.name);
        const paged = await pageThrough(search, 2, async () => {
          await registry.createRegisteredModel({ projectId: 1, name: `${prefix}-${extraModel++}`, description: null, userId: 'alice', tags: [], now: T0 + 1 });
        });
        assertSameSequence(paged.map((m) => m.name), whole, `models ${JSON.stringify(orderBy)}`);
      }
      let extraVersion = 100;
      for (const orderBy of [[], [attribute('version_number', true)], [attribute('run_id', true)], [attribute('name', false), attribute('creation_timestamp', true)]]) {
        const search = (page: PagePosition, maxResults: number) =>
          registry.searchModelVersions({ projectId: 1, filter, excludePrompts: false, orderBy, maxResults, page });
        const whole = (await search({ offset: 0, snapshot: null }, 1000)).items.map((v) => `${v.name}/${v.version}`);
        const paged = await pageThrough(search, 4, () => addVersion(extraVersion++));
        assertSameSequence(paged.map((v) => `${v.name}/${v.version}`), whole, `versions ${JSON.stringify(orderBy)}`);
      }
    });

    test('traces page through their order forms without duplicates or gaps, while new traces arrive', async () => {
      const experimentId = String(5000 + Math.floor(Math.random() * 1000));
      const original = new Set<string>();
      const insert = async (i: number) => {
        const traceId = `tr-${uid()}`;
        await traces.insertTrace({
          traceId,
          projectId: 1,
          experimentId,
          requestTime: T0 + (i % 4),
          executionDuration: i % 3 === 0 ? null : i % 5,
          state: i % 2 === 0 ? 'OK' : 'ERROR',
          clientRequestId: null,
          requestPreview: null,
          responsePreview: null,
        });
        if (i % 3 !== 1) await traces.setTags(traceId, { 'mlflow.traceName': `name-${i % 2}` });
        return traceId;
      };
      for (let i = 0; i < 20; i++) original.add(await insert(i));
      let extra = 100;
      const orders: TraceOrderBy[][] = [
        [],
        [{ key: 'timestamp_ms', ascending: true }],
        [{ key: 'execution_time_ms', ascending: false }],
        [{ key: 'name', ascending: true }, { key: 'end_time_ms', ascending: false }],
        [{ key: 'status', ascending: true }],
      ];
      for (const orderBy of orders) {
        const query = { projectId: 1, experimentIds: [experimentId], clauses: [], orderBy, offset: 0 };
        const whole = (await traces.searchTracePage({ ...query, limit: 1000 })).ids.filter((id) => original.has(id));
        assert.equal(whole.length, 20);
        const paged: string[] = [];
        let after: PagePosition['after'];
        for (let guard = 0; guard < 100; guard++) {
          const page = await traces.searchTracePage({ ...query, limit: 3, ...(after ? { after } : {}) });
          paged.push(...page.ids);
          if (!page.next) break;
          await insert(extra++);
          after = decodePageToken(encodePageToken({ offset: 0, snapshot: null, after: page.next })).after;
        }
        assertSameSequence(paged.filter((id) => original.has(id)), whole, JSON.stringify(orderBy));
        assert.equal(new Set(paged).size, paged.length, 'no trace came twice');
      }
    });
  });
}
