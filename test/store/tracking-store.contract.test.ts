import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { UniqueViolationError } from '../../src/store/store-errors.ts';
import type { MetricRecord, RunSearchQuery, StoreFilterClause, StoreOrderBy, TrackingStore } from '../../src/store/tracking-store.ts';
import { storeBackends } from '../support/store-backends.ts';

/**
 * The TrackingStore contract, run unchanged against SQLite and PostgreSQL: the same schema and
 * migrations, the same queries, the same answers. The cases lean on what differs between the two
 * databases: int64 round trips, NaN and infinities, upserts, LIKE case rules, NULL ordering,
 * GROUP BY over expressions, transactions, and concurrent writers.
 */

const T0 = 1_700_000_000_000;
const uid = (): string => randomBytes(16).toString('hex');
const unique = (label: string): string => `${label}-${randomBytes(4).toString('hex')}`;

for (const backend of storeBackends) {
  describe(`TrackingStore contract: ${backend.name}`, { skip: backend.skip }, () => {
    let database: OpenedDatabase;
    let dispose: () => Promise<void>;
    let store: SqlTrackingStore;

    before(async () => {
      ({ database, dispose } = await backend.open());
      store = new SqlTrackingStore(database.db);
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', T0);
    });

    after(async () => {
      await dispose?.();
    });

    async function newExperiment(name = unique('exp')): Promise<string> {
      return store.createExperiment({
        projectId: 1,
        name,
        artifactLocation: null,
        artifactLocationFor: (id) => `mlflow-artifacts:/${id}`,
        tags: [],
        now: T0,
      });
    }

    async function newRun(experimentId: string, overrides: Partial<{ name: string; startTime: number; tags: Array<{ key: string; value: string }> }> = {}): Promise<{ runId: string; pk: number }> {
      const runId = uid();
      await store.createRun({
        runId,
        experimentId,
        name: overrides.name ?? unique('run'),
        userId: 'alice',
        status: 'RUNNING',
        startTime: overrides.startTime ?? T0,
        artifactUri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
        tags: overrides.tags ?? [],
      });
      const info = await store.getRunInfo(runId);
      assert.ok(info);
      return { runId, pk: info.pk };
    }

    function search(experimentIds: string[], filter: StoreFilterClause[] = [], orderBy: StoreOrderBy[] = [], maxResults = 100): RunSearchQuery {
      return { experimentIds, filter, orderBy, viewType: 'ACTIVE_ONLY', maxResults, page: { offset: 0, snapshot: null } };
    }

    async function searchNames(query: RunSearchQuery): Promise<string[]> {
      return (await store.searchRuns(query)).items.map((run) => run.info.runName);
    }

    const point = (key: string, value: number, step: number, timestamp = T0): MetricRecord => ({ key, value, step, timestamp });

    // ------------------------------------------------------------------ schema

    test('the migrations create the same tables and the default experiment exists once', async () => {
      const tables = (await database.db.introspection.getTables()).map((t) => t.name).sort();
      for (const table of ['experiments', 'runs', 'params', 'run_tags', 'metrics', 'latest_metrics', 'metric_keys', 'logged_models']) {
        assert.ok(tables.includes(table), `missing table ${table} in ${tables.join(', ')}`);
      }
      await store.ensureDefaultExperiment('mlflow-artifacts:/0', T0 + 1);
      const experiment = await store.getExperiment('0');
      assert.equal(experiment?.name, 'Default');
      assert.equal(experiment?.creationTime, T0);
    });

    // ------------------------------------------------------------------ experiments

    test('a new experiment gets a numeric string id and its artifact location from that id', async () => {
      const id = await newExperiment();
      assert.match(id, /^[1-9]\d*$/);
      const experiment = await store.getExperiment(id);
      assert.equal(experiment?.artifactLocation, `mlflow-artifacts:/${id}`);
      assert.equal(typeof experiment?.creationTime, 'number');
      assert.equal(await store.getExperiment('not-a-number'), undefined);
    });

    test('experiment names are unique, for creation and renaming alike', async () => {
      const name = unique('dup');
      await newExperiment(name);
      await assert.rejects(newExperiment(name), UniqueViolationError);
      const other = await newExperiment();
      await assert.rejects(store.renameExperiment(other, name, T0), UniqueViolationError);
    });

    test('experiment tags are replaced by key and deleting reports whether one existed', async () => {
      const id = await newExperiment();
      await store.setExperimentTag(id, { key: 'team', value: 'a' });
      await store.setExperimentTag(id, { key: 'team', value: 'b' });
      assert.deepEqual((await store.getExperiment(id))?.tags, [{ key: 'team', value: 'b' }]);
      assert.equal(await store.deleteExperimentTag(id, 'team'), true);
      assert.equal(await store.deleteExperimentTag(id, 'team'), false);
    });

    test('deleting an experiment deletes its runs and restoring it brings them back', async () => {
      const id = await newExperiment();
      const { runId } = await newRun(id);
      await store.setExperimentLifecycle(id, 'deleted', T0 + 5);
      assert.equal((await store.getRunInfo(runId))?.lifecycleStage, 'deleted');
      assert.deepEqual(await store.countRuns([id], 'DELETED_ONLY'), new Map([[id, 1]]));
      await store.setExperimentLifecycle(id, 'active', T0 + 6);
      assert.equal((await store.getRunInfo(runId))?.lifecycleStage, 'active');
      assert.deepEqual(await store.countRuns([id], 'ACTIVE_ONLY'), new Map([[id, 1]]));
    });

    test('experiment search filters by name with case-sensitive LIKE and case-insensitive ILIKE', async () => {
      const stem = unique('Search');
      await newExperiment(`${stem}-Alpha`);
      await newExperiment(`${stem}-beta`);
      const names = async (filter: StoreFilterClause[]): Promise<string[]> =>
        (
          await store.searchExperiments({ projectId: 1, filter, orderBy: [{ entity: 'attribute', key: 'name', ascending: true }], viewType: 'ALL', maxResults: 10, page: { offset: 0, snapshot: null } })
        ).items.map((e) => e.name);
      assert.deepEqual(await names([{ entity: 'attribute', key: 'name', comparator: 'LIKE', value: `${stem}-a%` }]), []);
      assert.deepEqual(await names([{ entity: 'attribute', key: 'name', comparator: 'ILIKE', value: `${stem.toLowerCase()}-a%` }]), [`${stem}-Alpha`]);
      assert.deepEqual(await names([{ entity: 'attribute', key: 'name', comparator: 'LIKE', value: `${stem}%` }]), [`${stem}-Alpha`, `${stem}-beta`]);
    });

    // ------------------------------------------------------------------ runs

    test('int64 values come back as exact numbers: ms timestamps and the largest safe step', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id, { startTime: 4_102_444_800_123 });
      await store.logMetrics(pk, [point('big', 1, Number.MAX_SAFE_INTEGER, 4_102_444_800_456)]);
      const run = await store.getRun(runId);
      assert.equal(run?.info.startTime, 4_102_444_800_123);
      assert.equal(typeof run?.info.pk, 'number');
      assert.deepEqual(run?.metrics.map((m) => [m.step, m.timestamp]), [[Number.MAX_SAFE_INTEGER, 4_102_444_800_456]]);
      assert.equal((await store.countRuns([id], 'ALL')).get(id), 1);
    });

    test('run info updates change only the given fields', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id, { name: 'before' });
      await store.updateRunInfo(pk, { status: 'FINISHED', endTime: T0 + 10 });
      await store.updateRunInfo(pk, { name: 'after' });
      const info = await store.getRunInfo(runId);
      assert.deepEqual([info?.status, info?.endTime, info?.runName], ['FINISHED', T0 + 10, 'after']);
    });

    test('params keep their first value and tags their last', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id, { tags: [{ key: 't', value: '1' }] });
      await store.insertParams(pk, [{ key: 'lr', value: '0.1' }]);
      await store.insertParams(pk, [{ key: 'lr', value: '0.2' }, { key: 'depth', value: '3' }]);
      await store.setRunTags(pk, [{ key: 't', value: '2' }, { key: 't', value: '3' }]);
      assert.deepEqual(
        (await store.getParams(pk, ['lr', 'depth', 'missing'])).sort((a, b) => a.key.localeCompare(b.key)),
        [{ key: 'depth', value: '3' }, { key: 'lr', value: '0.1' }],
      );
      assert.deepEqual((await store.getRun(runId))?.tags, [{ key: 't', value: '3' }]);
      assert.equal(await store.deleteRunTag(pk, 't'), true);
      assert.equal(await store.deleteRunTag(pk, 't'), false);
    });

    test('a failed transaction leaves nothing behind', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id);
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertParams(pk, [{ key: 'p', value: 'v' }]);
          await tx.logMetrics(pk, [point('m', 1, 1)]);
          throw new Error('boom');
        }),
        /boom/,
      );
      const run = await store.getRun(runId);
      assert.deepEqual([run?.params, run?.metrics], [[], []]);
    });

    // ------------------------------------------------------------------ metrics

    test('NaN and infinities round-trip, and an exact duplicate point is stored once', async () => {
      const id = await newExperiment();
      const { pk } = await newRun(id);
      await store.logMetrics(pk, [point('v', Number.NaN, 0), point('v', Infinity, 1), point('v', -Infinity, 2), point('v', 0.5, 3)]);
      await store.logMetrics(pk, [point('v', 0.5, 3)]);
      const history = await store.getMetricHistory({ runPk: pk, key: 'v', maxResults: 100, offset: 0 });
      assert.deepEqual(history.map((m) => m.value), [Number.NaN, Infinity, -Infinity, 0.5]);
    });

    test('the latest value is the highest step, then timestamp, then value, with NaN lowest', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id);
      await store.logMetrics(pk, [point('m', 5, 2, T0), point('m', 9, 1, T0 + 100)]);
      await store.logMetrics(pk, [point('m', 1, 2, T0 + 1)]);
      await store.logMetrics(pk, [point('m', 0.5, 2, T0)]);
      await store.logMetrics(pk, [point('n', 3, 0), point('n', Number.NaN, 0)]);
      const latest = new Map((await store.getRun(runId))?.metrics.map((m) => [m.key, m]));
      assert.deepEqual([latest.get('m')?.value, latest.get('m')?.timestamp], [1, T0 + 1]);
      assert.equal(latest.get('n')?.value, 3);
    });

    test('concurrent batches for one run keep the newest point as the latest value', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id);
      const store2 = new SqlTrackingStore(database.db);
      // Many small batches from two store instances at once (on PostgreSQL: separate connections).
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? store : store2).logMetrics(pk, [point('race', i, i), point(`k${i % 5}`, i, i)])),
      );
      const latest = (await store.getRun(runId))?.metrics.find((m) => m.key === 'race');
      assert.equal(latest?.step, 39);
      assert.equal((await store.getMetricHistory({ runPk: pk, key: 'race', maxResults: 100, offset: 0 })).length, 40);
    });

    test('metric history pages in step order', async () => {
      const id = await newExperiment();
      const { pk } = await newRun(id);
      await store.logMetrics(pk, Array.from({ length: 25 }, (_, i) => point('h', i * 2, 24 - i)));
      const page = await store.getMetricHistory({ runPk: pk, key: 'h', maxResults: 10, offset: 10 });
      assert.deepEqual(page.map((m) => m.step), [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
      assert.deepEqual(await store.getMetricHistory({ runPk: pk, key: 'unknown', maxResults: 10, offset: 0 }), []);
    });

    test('metric history reads every double back exactly, with the largest safe step and millisecond timestamps', async () => {
      const id = await newExperiment();
      const { pk } = await newRun(id);
      const values = [0.1, 1 / 3, -2 / 3, 1e-300, 5e-324, 1.7976931348623157e308, 123456789.12345679, 1e21, -1e-7, 2 ** 53];
      await store.logMetrics(pk, values.map((v, i) => point('exact', v, i, 1_733_000_000_123 + i)));
      await store.logMetrics(pk, [point('exact', 42, Number.MAX_SAFE_INTEGER, 1_733_000_000_999)]);
      const history = await store.getMetricHistory({ runPk: pk, key: 'exact', maxResults: 100, offset: 0 });
      assert.deepEqual(history.map((m) => m.value), [...values, 42]);
      assert.deepEqual(history.map((m) => m.timestamp), [...values.map((_, i) => 1_733_000_000_123 + i), 1_733_000_000_999]);
      assert.equal(history.at(-1)?.step, Number.MAX_SAFE_INTEGER);
      // A point linked to a model and a dataset keeps them, quotes and commas included.
      await store.logMetrics(pk, [{ key: 'linked', value: Infinity, step: 1, timestamp: T0, modelId: 'm-"1",2', datasetName: 'train, "a"', datasetDigest: 'abc' }]);
      const [linked] = await store.getMetricHistory({ runPk: pk, key: 'linked', maxResults: 10, offset: 0 });
      assert.deepEqual(linked, { key: 'linked', value: Infinity, step: 1, timestamp: T0, modelId: 'm-"1",2', datasetName: 'train, "a"', datasetDigest: 'abc' });
    });

    test('metric history pages from a keyset position return every point once, through ties on step and timestamp, NaN and infinities', async () => {
      const id = await newExperiment();
      const { pk } = await newRun(id);
      // Step 1 holds several points of one timestamp: values -Infinity, -1, 0, NaN (stored as 0), 2, Infinity.
      const values = [-Infinity, -1, 0, Number.NaN, 2, Infinity];
      await store.logMetrics(pk, [point('kp', 5, 0, T0), ...values.map((v) => point('kp', v, 1, T0)), point('kp', 7, 1, T0 + 1), point('kp', 8, 2, T0)]);
      const whole = await store.getMetricHistory({ runPk: pk, key: 'kp', maxResults: 100, offset: 0 });
      assert.deepEqual(whole.map((m) => m.value), [5, -Infinity, -1, 0, Number.NaN, 2, Infinity, 7, 8]);
      const paged: number[] = [];
      let after: { step: number; timestamp: number; value: number } | undefined;
      for (let pages = 0; pages < 20; pages++) {
        const page = await store.getMetricHistory({ runPk: pk, key: 'kp', maxResults: 2, offset: 0, after });
        paged.push(...page.map((m) => m.value));
        if (page.length < 2) break;
        const last = page[1]!;
        after = { step: last.step, timestamp: last.timestamp, value: last.value };
      }
      assert.deepEqual(paged, [5, -Infinity, -1, 0, Number.NaN, 2, Infinity, 7, 8]);
      // A position between stored points (the point it names was never logged) starts after it.
      const between = await store.getMetricHistory({ runPk: pk, key: 'kp', maxResults: 3, offset: 0, after: { step: 1, timestamp: T0, value: 1 } });
      assert.deepEqual(between.map((m) => m.value), [2, Infinity, 7]);
    });

    test('sampled history takes the first point of each of maxPoints NTILE buckets and keeps the range\'s last point, as MLflow 3.18', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id);
      await store.logMetrics(pk, Array.from({ length: 100 }, (_, i) => point('s', i, i)));
      const sampled = await store.getMetricHistorySampled({ runs: [{ pk, runId }], key: 's', startStep: 10, endStep: 90, maxPoints: 5 });
      // 81 points in 5 buckets of 17, 16, 16, 16, 16; the last pick gives way to step 90.
      assert.deepEqual(sampled.map((m) => m.step), [10, 27, 43, 59, 90]);
      assert.ok(sampled.every((m) => m.runId === runId));
    });

    test('downsampling buckets a long series the same way on every database', async () => {
      const id = await newExperiment();
      const { pk } = await newRun(id);
      await store.logMetrics(pk, Array.from({ length: 1000 }, (_, i) => point('d', i % 7, i, T0 + i)));
      const series = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'd', xAxis: 'step', start: null, end: null, maxBuckets: 10 });
      assert.equal(series.bucketed, true);
      assert.equal(series.totalPoints, 1000);
      assert.ok(series.x.length > 1 && series.x.length <= 10, `${series.x.length} buckets`);
      // Buckets cover the series in order without overlapping; each keeps its extremes.
      assert.deepEqual([series.x[0], series.xEnd[series.xEnd.length - 1]], [0, 999]);
      series.x.forEach((x, i) => {
        assert.ok(x <= (series.xEnd[i] as number));
        if (i > 0) assert.ok(x > (series.xEnd[i - 1] as number));
      });
      assert.deepEqual([series.min[0], series.max[0]], [0, 6]);
      assert.equal(series.count.reduce((a, b) => a + b, 0), 1000);
      const short = await store.getMetricSeriesDownsampled({ runPk: pk, key: 'd', xAxis: 'timestamp', start: T0, end: T0 + 4, maxBuckets: 10 });
      assert.deepEqual([short.bucketed, short.x], [false, [T0, T0 + 1, T0 + 2, T0 + 3, T0 + 4]]);
    });

    // ------------------------------------------------------------------ search

    test('run search filters by metric, param, tag and attribute, and a run lacking the key never matches', async () => {
      const id = await newExperiment();
      const a = await newRun(id, { name: 'a', tags: [{ key: 'team', value: 'Vision' }] });
      const b = await newRun(id, { name: 'b', tags: [{ key: 'team', value: 'vision' }] });
      await newRun(id, { name: 'c' });
      await store.logMetrics(a.pk, [point('acc', 0.9, 1)]);
      await store.logMetrics(b.pk, [point('acc', 0.5, 1)]);
      await store.insertParams(a.pk, [{ key: 'opt', value: 'adam' }]);
      const names = async (filter: StoreFilterClause[]): Promise<string[]> => (await searchNames(search([id], filter))).sort();
      assert.deepEqual(await names([{ entity: 'metric', key: 'acc', comparator: '>', value: 0.6 }]), ['a']);
      assert.deepEqual(await names([{ entity: 'metric', key: 'acc', comparator: '!=', value: 0.9 }]), ['b']);
      assert.deepEqual(await names([{ entity: 'metric', key: 'nope', comparator: '>', value: 0 }]), []);
      assert.deepEqual(await names([{ entity: 'param', key: 'opt', comparator: '=', value: 'adam' }]), ['a']);
      assert.deepEqual(await names([{ entity: 'tag', key: 'team', comparator: 'LIKE', value: 'V%' }]), ['a']);
      assert.deepEqual(await names([{ entity: 'tag', key: 'team', comparator: 'ILIKE', value: 'v%' }]), ['a', 'b']);
      assert.deepEqual(await names([{ entity: 'attribute', key: 'run_name', comparator: 'IN', value: ['a', 'c'] }]), ['a', 'c']);
      assert.deepEqual(await names([{ entity: 'attribute', key: 'run_name', comparator: 'NOT IN', value: [] }]), ['a', 'b', 'c']);
      assert.deepEqual(await names([{ entity: 'attribute', key: 'start_time', comparator: '>=', value: T0 }]), ['a', 'b', 'c']);
    });

    test('ordering by a metric puts runs without it last in both directions', async () => {
      const id = await newExperiment();
      for (const [name, value] of [['low', 1], ['high', 3], ['mid', 2]] as const) {
        const run = await newRun(id, { name });
        await store.logMetrics(run.pk, [point('score', value, 0)]);
      }
      await newRun(id, { name: 'none' });
      assert.deepEqual(await searchNames(search([id], [], [{ entity: 'metric', key: 'score', ascending: false }])), ['high', 'mid', 'low', 'none']);
      assert.deepEqual(await searchNames(search([id], [], [{ entity: 'metric', key: 'score', ascending: true }])), ['low', 'mid', 'high', 'none']);
    });

    test('pages stay stable while new runs arrive between them', async () => {
      const id = await newExperiment();
      for (let i = 0; i < 5; i += 1) await newRun(id, { name: `r${i}`, startTime: T0 + i });
      const first = await store.searchRuns(search([id], [], [], 2));
      assert.deepEqual(first.items.map((r) => r.info.runName), ['r4', 'r3']);
      assert.ok(first.next);
      await newRun(id, { name: 'late', startTime: T0 + 100 });
      const second = await store.searchRuns({ ...search([id], [], [], 2), page: first.next });
      assert.deepEqual(second.items.map((r) => r.info.runName), ['r2', 'r1']);
      const third = await store.searchRuns({ ...search([id], [], [], 2), page: second.next ?? { offset: 0, snapshot: null } });
      assert.deepEqual([third.items.map((r) => r.info.runName), third.next], [['r0'], undefined]);
    });

    test('dataset inputs are stored once per dataset and listed per experiment', async () => {
      const id = await newExperiment();
      const { runId, pk } = await newRun(id);
      const input = {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: { name: 'iris', digest: 'abc', sourceType: 'local', source: '{}', schema: null, profile: null },
      };
      await store.logDatasetInputs(pk, id, [input]);
      await store.logDatasetInputs(pk, id, [input]);
      assert.equal((await store.getRun(runId))?.datasetInputs.length, 1);
      assert.deepEqual(await store.searchDatasets([id]), [{ experimentId: id, name: 'iris', digest: 'abc', context: 'training' }]);
      const other = await newRun(id);
      await store.logModelInputs(other.pk, ['m-1', 'm-1']);
      await store.logModelOutputs(other.pk, [{ modelId: 'm-2', step: 3 }]);
      const run = await store.getRunInfo(other.runId).then((info) => (info ? store.getRun(info.runId) : undefined));
      assert.deepEqual([run?.modelInputs, run?.modelOutputs], [['m-1'], [{ modelId: 'm-2', step: 3 }]]);
    });

    // ------------------------------------------------------------------ logged models

    test('logged models keep tags, params and metrics and are searched by metric', async () => {
      const id = await newExperiment();
      for (const [name, acc] of [['m-low', 0.1], ['m-high', 0.9]] as const) {
        const modelId = `m-${uid()}`;
        await store.createLoggedModel({
          modelId, experimentId: id, name, artifactUri: `mlflow-artifacts:/${id}/models/${modelId}/artifacts`, status: 'READY',
          creatorId: null, modelType: null, sourceRunId: null, params: [{ key: 'k', value: 'v' }], tags: [{ key: 't', value: name }], timestamp: T0,
        });
        await store.logLoggedModelMetrics(modelId, [point('acc', acc, 0)]);
      }
      const page = await store.searchLoggedModels({
        experimentIds: [id],
        filter: [{ entity: 'metric', key: 'acc', comparator: '>', value: 0 }],
        orderBy: [{ entity: 'metric', key: 'acc', ascending: false }],
        datasets: [],
        maxResults: 10,
        page: { offset: 0, snapshot: null },
      });
      assert.deepEqual(page.items.map((m) => m.name), ['m-high', 'm-low']);
      const [top] = page.items;
      assert.deepEqual([top?.params, top?.tags, top?.metrics.map((m) => m.value)], [[{ key: 'k', value: 'v' }], [{ key: 't', value: 'm-high' }], [0.9]]);
    });
  });
}
