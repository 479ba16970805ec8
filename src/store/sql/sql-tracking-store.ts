import type { Kysely, Selectable, Transaction } from 'kysely';
import { sql } from 'kysely';
import type { Database, ExperimentTable, LoggedModelTable, RunTable } from './schema.ts';
import type {
  DatasetInputRecord,
  ExperimentRecord,
  ExperimentSearchQuery,
  KeyValue,
  LifecycleStage,
  LoggedModelRecord,
  LoggedModelSearchQuery,
  MetricHistoryQuery,
  DownsampleQuery,
  DownsampledSeries,
  ViewType,
  MetricRecord,
  NewLoggedModel,
  NewRun,
  Page,
  RunInfoRecord,
  RunInfoUpdate,
  RunRecord,
  RunSearchQuery,
  TrackingStore,
} from '../tracking-store.ts';
import { readRollupExtent, readRollups, rollupLevelFor, rollupRowsFor, upsertRollups } from './metric-rollups.ts';
import { chunk, isUniqueViolation } from './sql-conditions.ts';
import { UniqueViolationError } from '../store-errors.ts';
import { searchRunPks, searchExperimentIds, searchLoggedModelPks } from './sql-search.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** Rows per multi-row INSERT: 9 columns × 3000 stays below SQLite's 32,766 bind variables. */
const INSERT_CHUNK = 3000;
/** Ids per `IN (...)` list when loading the children of a page of runs. */
const IN_CHUNK = 5000;

/** Metric key ids by name. Keys are never deleted, so a committed id can be cached for good. */
class MetricKeyCache {
  readonly ids = new Map<string, number>();
}

/**
 * The SQL tracking store, one implementation for SQLite and PostgreSQL through Kysely.
 * A store created by `transaction()` runs every call on that transaction.
 */
export class SqlTrackingStore implements TrackingStore {
  private readonly pendingKeys = new Map<string, number>();

  constructor(
    private readonly db: Db,
    private readonly keyCache: MetricKeyCache = new MetricKeyCache(),
    private readonly inTransaction = false,
  ) {}

  async transaction<T>(work: (store: TrackingStore) => Promise<T>): Promise<T> {
    if (this.inTransaction) return work(this);
    const root = this.db as Kysely<Database>;
    let child: SqlTrackingStore | undefined;
    const result = await root.transaction().execute(async (trx) => {
      child = new SqlTrackingStore(trx, this.keyCache, true);
      return work(child);
    });
    // Key ids created inside the transaction are only trusted once it has committed.
    if (child) for (const [key, id] of child.pendingKeys) this.keyCache.ids.set(key, id);
    return result;
  }

  // ---------------------------------------------------------------- experiments

  async ensureDefaultExperiment(artifactLocation: string, now: number): Promise<void> {
    const existing = await this.db.selectFrom('experiments').select('experiment_id').where('experiment_id', '=', 0).executeTakeFirst();
    if (existing) return;
    await this.db
      .insertInto('experiments')
      .values({
        experiment_id: 0,
        project_id: 1,
        name: 'Default',
        artifact_location: artifactLocation,
        lifecycle_stage: 'active',
        creation_time: now,
        last_update_time: now,
        deleted_time: null,
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async createExperiment(input: {
    projectId: number;
    name: string;
    artifactLocation: string | null;
    artifactLocationFor: (experimentId: string) => string;
    tags: KeyValue[];
    now: number;
  }): Promise<string> {
    return this.transaction(async (store) => {
      const db = (store as SqlTrackingStore).db;
      let row: { experiment_id: number } | undefined;
      try {
        row = await db
          .insertInto('experiments')
          .values({
            project_id: input.projectId,
            name: input.name,
            artifact_location: input.artifactLocation ?? '',
            lifecycle_stage: 'active',
            creation_time: input.now,
            last_update_time: input.now,
            deleted_time: null,
          })
          .returning('experiment_id')
          .executeTakeFirstOrThrow();
      } catch (error) {
        if (isUniqueViolation(error)) throw new UniqueViolationError(`Experiment ${input.name} exists`, { cause: error });
        throw error;
      }
      const experimentId = String(row.experiment_id);
      if (input.artifactLocation === null) {
        await db
          .updateTable('experiments')
          .set({ artifact_location: input.artifactLocationFor(experimentId) })
          .where('experiment_id', '=', row.experiment_id)
          .execute();
      }
      if (input.tags.length > 0) {
        await db
          .insertInto('experiment_tags')
          .values(input.tags.map((t) => ({ experiment_id: row.experiment_id, key: t.key, value: t.value })))
          .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
          .execute();
      }
      return experimentId;
    });
  }

  async getExperiment(experimentId: string): Promise<ExperimentRecord | undefined> {
    const id = toIntId(experimentId);
    if (id === undefined) return undefined;
    const row = await this.db.selectFrom('experiments').selectAll().where('experiment_id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const [experiment] = await this.withExperimentTags([row]);
    return experiment;
  }

  async getExperimentByName(projectId: number, name: string): Promise<ExperimentRecord | undefined> {
    const row = await this.db
      .selectFrom('experiments')
      .selectAll()
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) return undefined;
    const [experiment] = await this.withExperimentTags([row]);
    return experiment;
  }

  async searchExperiments(query: ExperimentSearchQuery): Promise<Page<ExperimentRecord>> {
    const { ids, next } = await searchExperimentIds(this.db, query);
    if (ids.length === 0) return next ? { items: [], next } : { items: [] };
    const rows = await this.db.selectFrom('experiments').selectAll().where('experiment_id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [Number(r.experiment_id), r]));
    const ordered = ids.map((id) => byId.get(id)).filter((r): r is NonNullable<typeof r> => r !== undefined);
    const items = await this.withExperimentTags(ordered);
    return next ? { items, next } : { items };
  }

  async renameExperiment(experimentId: string, name: string, now: number): Promise<void> {
    try {
      await this.db
        .updateTable('experiments')
        .set({ name, last_update_time: now })
        .where('experiment_id', '=', Number(experimentId))
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) throw new UniqueViolationError(`Experiment ${name} exists`, { cause: error });
      throw error;
    }
  }

  async setExperimentLifecycle(experimentId: string, stage: LifecycleStage, now: number): Promise<void> {
    const id = Number(experimentId);
    const deletedTime = stage === 'deleted' ? now : null;
    await this.transaction(async (store) => {
      const db = (store as SqlTrackingStore).db;
      await db
        .updateTable('experiments')
        .set({ lifecycle_stage: stage, last_update_time: now, deleted_time: deletedTime })
        .where('experiment_id', '=', id)
        .execute();
      // Deleting an experiment soft-deletes its runs; restoring brings back the ones it deleted.
      await db
        .updateTable('runs')
        .set({ lifecycle_stage: stage, deleted_time: deletedTime })
        .where('experiment_id', '=', id)
        .where('lifecycle_stage', '!=', stage)
        .execute();
    });
  }

  async setExperimentTag(experimentId: string, tag: KeyValue): Promise<void> {
    await this.db
      .insertInto('experiment_tags')
      .values({ experiment_id: Number(experimentId), key: tag.key, value: tag.value })
      .onConflict((oc) => oc.columns(['experiment_id', 'key']).doUpdateSet({ value: tag.value }))
      .execute();
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('experiment_tags')
      .where('experiment_id', '=', Number(experimentId))
      .where('key', '=', key)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  private async withExperimentTags(rows: ExperimentRow[]): Promise<ExperimentRecord[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => Number(r.experiment_id));
    const tags = new Map<number, KeyValue[]>();
    for (const part of chunk(ids, IN_CHUNK)) {
      const tagRows = await this.db.selectFrom('experiment_tags').selectAll().where('experiment_id', 'in', part).execute();
      for (const t of tagRows) pushTo(tags, Number(t.experiment_id), { key: t.key, value: t.value });
    }
    return rows.map((r) => ({
      experimentId: String(r.experiment_id),
      projectId: Number(r.project_id),
      name: r.name,
      artifactLocation: r.artifact_location,
      lifecycleStage: r.lifecycle_stage as LifecycleStage,
      creationTime: Number(r.creation_time),
      lastUpdateTime: Number(r.last_update_time),
      tags: tags.get(Number(r.experiment_id)) ?? [],
    }));
  }

  // ---------------------------------------------------------------- runs

  async createRun(run: NewRun): Promise<void> {
    await this.transaction(async (store) => {
      const db = (store as SqlTrackingStore).db;
      const row = await db
        .insertInto('runs')
        .values({
          run_uuid: run.runId,
          experiment_id: Number(run.experimentId),
          name: run.name,
          user_id: run.userId,
          status: run.status,
          start_time: run.startTime,
          end_time: null,
          lifecycle_stage: 'active',
          artifact_uri: run.artifactUri,
          deleted_time: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await store.setRunTags(Number(row.id), run.tags);
    });
  }

  async getRunInfo(runId: string): Promise<RunInfoRecord | undefined> {
    const row = await this.db.selectFrom('runs').selectAll().where('run_uuid', '=', runId).executeTakeFirst();
    return row ? toRunInfo(row) : undefined;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    const info = await this.getRunInfo(runId);
    if (!info) return undefined;
    const [run] = await this.loadRuns([info]);
    return run;
  }

  async updateRunInfo(runPk: number, update: RunInfoUpdate): Promise<void> {
    const set: Partial<{ status: string; end_time: number | null; name: string }> = {};
    if (update.status !== undefined) set.status = update.status;
    if (update.endTime !== undefined) set.end_time = update.endTime;
    if (update.name !== undefined) set.name = update.name;
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('runs').set(set).where('id', '=', runPk).execute();
  }

  async setRunLifecycle(runPk: number, stage: LifecycleStage, now: number): Promise<void> {
    await this.db
      .updateTable('runs')
      .set({ lifecycle_stage: stage, deleted_time: stage === 'deleted' ? now : null })
      .where('id', '=', runPk)
      .execute();
  }

  async getParams(runPk: number, keys: string[]): Promise<KeyValue[]> {
    if (keys.length === 0) return [];
    const found: KeyValue[] = [];
    for (const part of chunk(keys, IN_CHUNK)) {
      const rows = await this.db.selectFrom('params').select(['key', 'value']).where('run_id', '=', runPk).where('key', 'in', part).execute();
      found.push(...rows);
    }
    return found;
  }

  async insertParams(runPk: number, params: KeyValue[]): Promise<void> {
    for (const part of chunk(params, INSERT_CHUNK)) {
      await this.db
        .insertInto('params')
        .values(part.map((p) => ({ run_id: runPk, key: p.key, value: p.value })))
        .onConflict((oc) => oc.columns(['run_id', 'key']).doNothing())
        .execute();
    }
  }

  async setRunTags(runPk: number, tags: KeyValue[]): Promise<void> {
    // Within one call the last value of a key wins, as when MLflow applies tags one by one.
    const latest = new Map(tags.map((t) => [t.key, t.value]));
    const rows = [...latest].map(([key, value]) => ({ run_id: runPk, key, value }));
    for (const part of chunk(rows, INSERT_CHUNK)) {
      await this.db
        .insertInto('run_tags')
        .values(part)
        .onConflict((oc) => oc.columns(['run_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    }
  }

  async deleteRunTag(runPk: number, key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('run_tags').where('run_id', '=', runPk).where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async logMetrics(runPk: number, metrics: MetricRecord[]): Promise<void> {
    if (metrics.length === 0) return;
    await this.transaction(async (store) => {
      const self = store as SqlTrackingStore;
      const keyIds = await self.resolveMetricKeyIds(metrics.map((m) => m.key));
      const rows = metrics.map((m) => {
        const isNan = Number.isNaN(m.value);
        return {
          run_id: runPk,
          key_id: keyIds.get(m.key) as number,
          step: m.step,
          timestamp: m.timestamp,
          value: isNan ? 0 : m.value,
          is_nan: isNan ? 1 : 0,
          model_id: m.modelId ?? null,
          dataset_name: m.datasetName ?? null,
          dataset_digest: m.datasetDigest ?? null,
        };
      });
      for (const part of chunk(rows, INSERT_CHUNK)) {
        // RETURNING yields only the rows actually inserted, so a re-sent point (MLflow 3 re-logs a
        // run's metrics with the model id) is not counted twice in the rollups.
        const inserted = await self.db
          .insertInto('metrics')
          .values(part)
          .onConflict((oc) => oc.doNothing())
          .returning(['key_id', 'step', 'value', 'is_nan'])
          .execute();
        const points = inserted.map((r) => ({ key_id: Number(r.key_id), step: Number(r.step), value: Number(r.value), is_nan: Number(r.is_nan) }));
        await upsertRollups(self.db, rollupRowsFor(runPk, points));
      }
      // The newest point per key among the incoming ones, then merged with what is stored.
      const candidates = new Map<number, (typeof rows)[number]>();
      for (const row of rows) {
        const current = candidates.get(row.key_id);
        if (!current || isNewerPoint(row, current)) candidates.set(row.key_id, row);
      }
      const stored = await self.db
        .selectFrom('latest_metrics')
        .selectAll()
        .where('run_id', '=', runPk)
        .where('key_id', 'in', [...candidates.keys()])
        .execute();
      const storedByKey = new Map(stored.map((s) => [Number(s.key_id), s]));
      const updates = [...candidates.values()]
        .filter((c) => {
          const existing = storedByKey.get(c.key_id);
          return !existing || isNewerPoint(c, { step: Number(existing.step), timestamp: Number(existing.timestamp), value: existing.value, is_nan: existing.is_nan });
        })
        // One lock order for every writer, so two concurrent batches on PostgreSQL cannot deadlock.
        .sort((a, b) => a.key_id - b.key_id);
      for (const part of chunk(updates, INSERT_CHUNK)) {
        await self.db
          .insertInto('latest_metrics')
          .values(part.map((u) => ({ run_id: runPk, key_id: u.key_id, step: u.step, timestamp: u.timestamp, value: u.value, is_nan: u.is_nan })))
          .onConflict((oc) =>
            oc
              .columns(['run_id', 'key_id'])
              .doUpdateSet((eb) => ({
                step: eb.ref('excluded.step'),
                timestamp: eb.ref('excluded.timestamp'),
                value: eb.ref('excluded.value'),
                is_nan: eb.ref('excluded.is_nan'),
              }))
              // The read above is only a filter. With several server processes on PostgreSQL another
              // transaction may have stored a newer point since; the row lock taken here settles it
              // with isNewerPoint's order (step, timestamp, then value with NaN lowest).
              .where(
                sql<boolean>`(excluded.step, excluded.timestamp, 1 - excluded.is_nan, excluded.value)
                  > (latest_metrics.step, latest_metrics.timestamp, 1 - latest_metrics.is_nan, latest_metrics.value)`,
              ),
          )
          .execute();
      }
    });
  }

  async getMetricHistory(query: MetricHistoryQuery): Promise<MetricRecord[]> {
    const keyId = await this.lookupMetricKeyId(query.key);
    if (keyId === undefined) return [];
    const rows = await this.db
      .selectFrom('metrics')
      .select(['step', 'timestamp', 'value', 'is_nan', 'model_id', 'dataset_name', 'dataset_digest'])
      .where('run_id', '=', query.runPk)
      .where('key_id', '=', keyId)
      .orderBy('step')
      .orderBy('timestamp')
      .orderBy('value')
      .limit(query.maxResults)
      .offset(query.offset)
      .execute();
    return rows.map((r) => toMetric(query.key, r));
  }

  async getMetricHistorySampled(input: {
    runs: Array<{ pk: number; runId: string }>;
    key: string;
    startStep: number | null;
    endStep: number | null;
    maxPoints: number;
  }): Promise<MetricRecord[]> {
    const keyId = await this.lookupMetricKeyId(input.key);
    if (keyId === undefined) return [];
    const result: MetricRecord[] = [];
    for (const run of input.runs) {
      let stepsQuery = this.db
        .selectFrom('metrics')
        .select('step')
        .distinct()
        .where('run_id', '=', run.pk)
        .where('key_id', '=', keyId);
      if (input.startStep !== null) stepsQuery = stepsQuery.where('step', '>=', input.startStep);
      if (input.endStep !== null) stepsQuery = stepsQuery.where('step', '<=', input.endStep);
      const steps = (await stepsQuery.orderBy('step').execute()).map((r) => Number(r.step));
      const chosen = sampleEvenly(steps, input.maxPoints);
      for (const part of chunk(chosen, IN_CHUNK)) {
        const rows = await this.db
          .selectFrom('metrics')
          .select(['step', 'timestamp', 'value', 'is_nan', 'model_id', 'dataset_name', 'dataset_digest'])
          .where('run_id', '=', run.pk)
          .where('key_id', '=', keyId)
          .where('step', 'in', part)
          .orderBy('step')
          .orderBy('timestamp')
          .execute();
        for (const r of rows) result.push({ ...toMetric(input.key, r), runId: run.runId });
      }
    }
    return result;
  }

  async getMetricSeriesDownsampled(query: DownsampleQuery): Promise<DownsampledSeries> {
    const empty: DownsampledSeries = { totalPoints: 0, bucketed: false, x: [], xEnd: [], min: [], max: [], count: [] };
    const keyId = await this.lookupMetricKeyId(query.key);
    if (keyId === undefined) return empty;
    const column = query.xAxis === 'step' ? 'step' : 'timestamp';
    // Every query below is a range scan of the metrics key (run_id, key_id, step, timestamp).
    let base = this.db
      .selectFrom('metrics')
      .where('run_id', '=', query.runPk)
      .where('key_id', '=', keyId)
      .where('is_nan', '=', 0);
    if (query.start !== null) base = base.where(column, '>=', query.start);
    if (query.end !== null) base = base.where(column, '<=', query.end);

    // Short series first: reading up to 2 × maxBuckets + 1 points stops early and needs no scan of
    // the whole history; only a longer series pays for the GROUP BY.
    const rawLimit = query.maxBuckets * 2;
    const ordered = column === 'step' ? base.orderBy('step').orderBy('timestamp') : base.orderBy('timestamp').orderBy('step');
    const rows = await ordered.select([column, 'value']).orderBy('value').limit(rawLimit + 1).execute();
    if (rows.length <= rawLimit) {
      const x = rows.map((r) => Number(r[column]));
      const values = rows.map((r) => Number(r.value));
      return { totalPoints: rows.length, bucketed: false, x, xEnd: x, min: values, max: values, count: rows.map(() => 1) };
    }
    // The x extent. On the step axis the coarsest rollup level holds it in a row or two; a scan
    // would read every point (is_nan sits after step in the key, so min/max cannot seek).
    const extent =
      column === 'step' && query.start === null && query.end === null
        ? await readRollupExtent(this.db, query.runPk, keyId)
        : await base.select((eb) => [eb.fn.min(column).as('lo'), eb.fn.max(column).as('hi')]).executeTakeFirst();
    if (!extent || extent.lo === null || extent.hi === null) return empty;

    // An explicit range fixes the bucket grid, so series of several runs drawn together line up.
    const lo = query.start ?? Number(extent.lo);
    const hi = query.end ?? Number(extent.hi);
    const width = Math.max(1, Math.ceil((hi - lo + 1) / query.maxBuckets));
    if (column === 'step') {
      const level = rollupLevelFor(width);
      if (level !== undefined) {
        return this.downsampleFromRollups({ runPk: query.runPk, keyId, level, lo, hi, width, explicitRange: query.start !== null || query.end !== null });
      }
    }
    // Integer bucket number; the CAST keeps it integral whichever way the driver binds the numbers.
    const bucket = sql<number>`cast((${sql.ref(column)} - ${lo}) / ${width} as bigint)`;
    const buckets = await base
      .select((eb) => [
        bucket.as('bucket'),
        eb.fn.min(column).as('x0'),
        eb.fn.max(column).as('x1'),
        eb.fn.min('value').as('vmin'),
        eb.fn.max('value').as('vmax'),
        eb.fn.countAll<number>().as('n'),
      ])
      // Grouped by the output name: PostgreSQL would not match two copies of a parameterised expression.
      .groupBy(sql`bucket`)
      .orderBy(sql`bucket`)
      .execute();
    const count = buckets.map((r) => Number(r.n));
    return {
      totalPoints: count.reduce((sum, n) => sum + n, 0),
      bucketed: true,
      x: buckets.map((r) => Number(r.x0)),
      xEnd: buckets.map((r) => Number(r.x1)),
      min: buckets.map((r) => Number(r.vmin)),
      max: buckets.map((r) => Number(r.vmax)),
      count,
    };
  }

  /**
   * Buckets of `width` steps from `lo`, built from the rollup blocks of `level` that lie wholly in
   * [lo, hi] plus the raw points of the partial blocks at either end of an explicit range.
   */
  private async downsampleFromRollups(input: {
    runPk: number;
    keyId: number;
    level: number;
    lo: number;
    hi: number;
    width: number;
    explicitRange: boolean;
  }): Promise<DownsampledSeries> {
    const size = 8 ** input.level;
    // Without an explicit range, lo and hi are the series' own extent: every block is inside it.
    const firstBlock = input.explicitRange ? Math.ceil(input.lo / size) : Math.floor(input.lo / size);
    const lastBlock = input.explicitRange ? Math.floor((input.hi + 1) / size) - 1 : Math.floor(input.hi / size);
    const parts: Array<{ step_min: number; step_max: number; vmin: number; vmax: number; n: number }> = [];
    const rawRange = async (from: number, to: number) => {
      if (from > to) return;
      const rows = await this.db
        .selectFrom('metrics')
        .select(['step', 'value'])
        .where('run_id', '=', input.runPk)
        .where('key_id', '=', input.keyId)
        .where('is_nan', '=', 0)
        .where('step', '>=', from)
        .where('step', '<=', to)
        .execute();
      for (const r of rows) parts.push({ step_min: Number(r.step), step_max: Number(r.step), vmin: Number(r.value), vmax: Number(r.value), n: 1 });
    };
    if (firstBlock > lastBlock) {
      await rawRange(input.lo, input.hi);
    } else {
      if (input.explicitRange) await rawRange(input.lo, firstBlock * size - 1);
      parts.push(...(await readRollups(this.db, { runPk: input.runPk, keyId: input.keyId, level: input.level, firstBlock, lastBlock })));
      if (input.explicitRange) await rawRange((lastBlock + 1) * size, input.hi);
    }
    const buckets = new Map<number, { x0: number; x1: number; vmin: number; vmax: number; n: number }>();
    for (const part of parts) {
      const index = Math.floor((part.step_min - input.lo) / input.width);
      const bucket = buckets.get(index);
      if (!bucket) {
        buckets.set(index, { x0: part.step_min, x1: part.step_max, vmin: part.vmin, vmax: part.vmax, n: part.n });
      } else {
        bucket.x0 = Math.min(bucket.x0, part.step_min);
        bucket.x1 = Math.max(bucket.x1, part.step_max);
        bucket.vmin = Math.min(bucket.vmin, part.vmin);
        bucket.vmax = Math.max(bucket.vmax, part.vmax);
        bucket.n += part.n;
      }
    }
    const ordered = [...buckets.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
    const count = ordered.map((b) => b.n);
    return {
      totalPoints: count.reduce((sum, n) => sum + n, 0),
      bucketed: true,
      x: ordered.map((b) => b.x0),
      xEnd: ordered.map((b) => b.x1),
      min: ordered.map((b) => b.vmin),
      max: ordered.map((b) => b.vmax),
      count,
    };
  }

  async countRuns(experimentIds: string[], viewType: ViewType): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    const ids = experimentIds.map(Number).filter((id) => Number.isSafeInteger(id));
    for (const part of chunk(ids, IN_CHUNK)) {
      let query = this.db
        .selectFrom('runs')
        .select((eb) => ['experiment_id', eb.fn.countAll<number>().as('n')])
        .where('experiment_id', 'in', part);
      if (viewType === 'ACTIVE_ONLY') query = query.where('lifecycle_stage', '=', 'active');
      if (viewType === 'DELETED_ONLY') query = query.where('lifecycle_stage', '=', 'deleted');
      for (const row of await query.groupBy('experiment_id').execute()) counts.set(String(row.experiment_id), Number(row.n));
    }
    return counts;
  }

  async logDatasetInputs(runPk: number, experimentId: string, inputs: DatasetInputRecord[]): Promise<void> {
    await this.transaction(async (store) => {
      const db = (store as SqlTrackingStore).db;
      for (const input of inputs) {
        const d = input.dataset;
        await db
          .insertInto('datasets')
          .values({
            dataset_uuid: crypto.randomUUID().replaceAll('-', ''),
            experiment_id: Number(experimentId),
            name: d.name,
            digest: d.digest,
            source_type: d.sourceType,
            source: d.source,
            schema: d.schema,
            profile: d.profile,
          })
          .onConflict((oc) => oc.columns(['experiment_id', 'name', 'digest']).doNothing())
          .execute();
        const dataset = await db
          .selectFrom('datasets')
          .select('id')
          .where('experiment_id', '=', Number(experimentId))
          .where('name', '=', d.name)
          .where('digest', '=', d.digest)
          .executeTakeFirstOrThrow();
        const datasetId = Number(dataset.id);
        await db.insertInto('run_inputs').values({ run_id: runPk, dataset_id: datasetId }).onConflict((oc) => oc.doNothing()).execute();
        if (input.tags.length > 0) {
          await db
            .insertInto('run_input_tags')
            .values(input.tags.map((t) => ({ run_id: runPk, dataset_id: datasetId, key: t.key, value: t.value })))
            .onConflict((oc) => oc.columns(['run_id', 'dataset_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
            .execute();
        }
      }
    });
  }

  async logModelInputs(runPk: number, modelIds: string[]): Promise<void> {
    if (modelIds.length === 0) return;
    await this.db
      .insertInto('run_model_inputs')
      .values(modelIds.map((id) => ({ run_id: runPk, model_id: id })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async logModelOutputs(runPk: number, outputs: Array<{ modelId: string; step: number }>): Promise<void> {
    if (outputs.length === 0) return;
    await this.db
      .insertInto('run_model_outputs')
      .values(outputs.map((o) => ({ run_id: runPk, model_id: o.modelId, step: o.step })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async searchRuns(query: RunSearchQuery): Promise<Page<RunRecord>> {
    const { pks, next } = await searchRunPks(this.db, query, (key) => this.lookupMetricKeyId(key));
    if (pks.length === 0) return next ? { items: [], next } : { items: [] };
    const infos: RunInfoRecord[] = [];
    for (const part of chunk(pks, IN_CHUNK)) {
      const rows = await this.db.selectFrom('runs').selectAll().where('id', 'in', part).execute();
      infos.push(...rows.map(toRunInfo));
    }
    const byPk = new Map(infos.map((i) => [i.pk, i]));
    const ordered = pks.map((pk) => byPk.get(pk)).filter((i): i is RunInfoRecord => i !== undefined);
    const items = await this.loadRuns(ordered);
    return next ? { items, next } : { items };
  }

  async searchDatasets(experimentIds: string[]): Promise<Array<{ experimentId: string; name: string; digest: string; context: string | null }>> {
    const ids = experimentIds.map(toIntId).filter((id): id is number => id !== undefined);
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('datasets as d')
      .innerJoin('run_inputs as ri', 'ri.dataset_id', 'd.id')
      .leftJoin('run_input_tags as t', (join) =>
        join.onRef('t.run_id', '=', 'ri.run_id').onRef('t.dataset_id', '=', 'ri.dataset_id').on('t.key', '=', 'mlflow.data.context'),
      )
      .select(['d.experiment_id', 'd.name', 'd.digest', 't.value as context'])
      .distinct()
      .where('d.experiment_id', 'in', ids)
      .orderBy('d.name')
      .limit(1000)
      .execute();
    return rows.map((r) => ({ experimentId: String(r.experiment_id), name: r.name, digest: r.digest, context: r.context ?? null }));
  }

  /** Loads params, tags, latest metrics, inputs and outputs for a page of runs with one query per table. */
  private async loadRuns(infos: RunInfoRecord[]): Promise<RunRecord[]> {
    const pks = infos.map((i) => i.pk);
    const params = new Map<number, KeyValue[]>();
    const tags = new Map<number, KeyValue[]>();
    const metrics = new Map<number, MetricRecord[]>();
    const datasetInputs = new Map<number, DatasetInputRecord[]>();
    const modelInputs = new Map<number, string[]>();
    const modelOutputs = new Map<number, Array<{ modelId: string; step: number }>>();
    for (const part of chunk(pks, IN_CHUNK)) {
      const [paramRows, tagRows, metricRows, inputRows, inputTagRows, modelInputRows, modelOutputRows] = await Promise.all([
        this.db.selectFrom('params').select(['run_id', 'key', 'value']).where('run_id', 'in', part).execute(),
        this.db.selectFrom('run_tags').select(['run_id', 'key', 'value']).where('run_id', 'in', part).execute(),
        this.db
          .selectFrom('latest_metrics as lm')
          .innerJoin('metric_keys as k', 'k.id', 'lm.key_id')
          .select(['lm.run_id', 'k.key', 'lm.value', 'lm.is_nan', 'lm.step', 'lm.timestamp'])
          .where('lm.run_id', 'in', part)
          .execute(),
        this.db
          .selectFrom('run_inputs as ri')
          .innerJoin('datasets as d', 'd.id', 'ri.dataset_id')
          .select(['ri.run_id', 'ri.dataset_id', 'd.name', 'd.digest', 'd.source_type', 'd.source', 'd.schema', 'd.profile'])
          .where('ri.run_id', 'in', part)
          .execute(),
        this.db.selectFrom('run_input_tags').selectAll().where('run_id', 'in', part).execute(),
        this.db.selectFrom('run_model_inputs').selectAll().where('run_id', 'in', part).execute(),
        this.db.selectFrom('run_model_outputs').selectAll().where('run_id', 'in', part).execute(),
      ]);
      for (const p of paramRows) pushTo(params, Number(p.run_id), { key: p.key, value: p.value });
      for (const t of tagRows) pushTo(tags, Number(t.run_id), { key: t.key, value: t.value });
      for (const m of metricRows) pushTo(metrics, Number(m.run_id), toMetric(m.key, m));
      const inputTags = new Map<string, KeyValue[]>();
      for (const t of inputTagRows) pushTo(inputTags, `${t.run_id}:${t.dataset_id}`, { key: t.key, value: t.value });
      for (const i of inputRows) {
        pushTo(datasetInputs, Number(i.run_id), {
          tags: inputTags.get(`${i.run_id}:${i.dataset_id}`) ?? [],
          dataset: { name: i.name, digest: i.digest, sourceType: i.source_type, source: i.source, schema: i.schema, profile: i.profile },
        });
      }
      for (const m of modelInputRows) pushTo(modelInputs, Number(m.run_id), m.model_id);
      for (const m of modelOutputRows) pushTo(modelOutputs, Number(m.run_id), { modelId: m.model_id, step: Number(m.step) });
    }
    return infos.map((info) => ({
      info,
      params: params.get(info.pk) ?? [],
      tags: tags.get(info.pk) ?? [],
      metrics: metrics.get(info.pk) ?? [],
      datasetInputs: datasetInputs.get(info.pk) ?? [],
      modelInputs: modelInputs.get(info.pk) ?? [],
      modelOutputs: modelOutputs.get(info.pk) ?? [],
    }));
  }

  // ---------------------------------------------------------------- metric keys

  private async lookupMetricKeyId(key: string): Promise<number | undefined> {
    const cached = this.keyCache.ids.get(key) ?? this.pendingKeys.get(key);
    if (cached !== undefined) return cached;
    const row = await this.db.selectFrom('metric_keys').select('id').where('key', '=', key).executeTakeFirst();
    if (!row) return undefined;
    const id = Number(row.id);
    if (this.inTransaction) this.pendingKeys.set(key, id);
    else this.keyCache.ids.set(key, id);
    return id;
  }

  private async resolveMetricKeyIds(keys: string[]): Promise<Map<string, number>> {
    const result = new Map<string, number>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const cached = this.keyCache.ids.get(key) ?? this.pendingKeys.get(key);
      if (cached !== undefined) result.set(key, cached);
      else missing.push(key);
    }
    if (missing.length === 0) return result;
    // Sorted, so concurrent transactions creating the same new keys lock them in the same order.
    missing.sort();
    for (const part of chunk(missing, IN_CHUNK)) {
      await this.db
        .insertInto('metric_keys')
        .values(part.map((key) => ({ key })))
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      const rows = await this.db.selectFrom('metric_keys').select(['id', 'key']).where('key', 'in', part).execute();
      for (const row of rows) {
        result.set(row.key, Number(row.id));
        if (this.inTransaction) this.pendingKeys.set(row.key, Number(row.id));
        else this.keyCache.ids.set(row.key, Number(row.id));
      }
    }
    return result;
  }

  // ---------------------------------------------------------------- logged models

  async createLoggedModel(model: NewLoggedModel): Promise<void> {
    await this.transaction(async (store) => {
      const self = store as SqlTrackingStore;
      const row = await self.db
        .insertInto('logged_models')
        .values({
          model_id: model.modelId,
          experiment_id: Number(model.experimentId),
          name: model.name,
          artifact_uri: model.artifactUri,
          creation_timestamp: model.timestamp,
          last_updated_timestamp: model.timestamp,
          status: model.status,
          status_message: null,
          creator_id: model.creatorId,
          model_type: model.modelType,
          source_run_id: model.sourceRunId,
          lifecycle_stage: 'active',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const pk = Number(row.id);
      await self.insertLoggedModelParams(pk, model.params);
      await self.setLoggedModelTags(pk, model.tags, model.timestamp);
    });
  }

  async getLoggedModel(modelId: string): Promise<LoggedModelRecord | undefined> {
    const row = await this.db.selectFrom('logged_models').selectAll().where('model_id', '=', modelId).executeTakeFirst();
    if (!row) return undefined;
    const [model] = await this.loadLoggedModels([row]);
    return model;
  }

  async updateLoggedModel(
    pk: number,
    update: { status?: string; statusMessage?: string | null; lifecycleStage?: LifecycleStage; now: number },
  ): Promise<void> {
    const set: Partial<{ status: string; status_message: string | null; lifecycle_stage: string; last_updated_timestamp: number }> = {
      last_updated_timestamp: update.now,
    };
    if (update.status !== undefined) set.status = update.status;
    if (update.statusMessage !== undefined) set.status_message = update.statusMessage;
    if (update.lifecycleStage !== undefined) set.lifecycle_stage = update.lifecycleStage;
    await this.db.updateTable('logged_models').set(set).where('id', '=', pk).execute();
  }

  async setLoggedModelTags(pk: number, tags: KeyValue[], now: number): Promise<void> {
    if (tags.length === 0) return;
    const latest = new Map(tags.map((t) => [t.key, t.value]));
    await this.db
      .insertInto('logged_model_tags')
      .values([...latest].map(([key, value]) => ({ model_pk: pk, key, value })))
      .onConflict((oc) => oc.columns(['model_pk', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
    await this.db.updateTable('logged_models').set({ last_updated_timestamp: now }).where('id', '=', pk).execute();
  }

  async deleteLoggedModelTag(pk: number, key: string): Promise<boolean> {
    const result = await this.db.deleteFrom('logged_model_tags').where('model_pk', '=', pk).where('key', '=', key).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async insertLoggedModelParams(pk: number, params: KeyValue[]): Promise<void> {
    if (params.length === 0) return;
    for (const part of chunk(params, INSERT_CHUNK)) {
      await this.db
        .insertInto('logged_model_params')
        .values(part.map((p) => ({ model_pk: pk, key: p.key, value: p.value })))
        .onConflict((oc) => oc.columns(['model_pk', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
        .execute();
    }
  }

  async logLoggedModelMetrics(modelId: string, metrics: MetricRecord[]): Promise<void> {
    if (metrics.length === 0) return;
    const model = await this.db.selectFrom('logged_models').select('id').where('model_id', '=', modelId).executeTakeFirst();
    if (!model) return;
    const rows = metrics.map((m) => {
      const isNan = Number.isNaN(m.value);
      return {
        model_pk: Number(model.id),
        key: m.key,
        step: m.step,
        timestamp: m.timestamp,
        value: isNan ? 0 : m.value,
        is_nan: isNan ? 1 : 0,
        run_uuid: m.runId ?? null,
        dataset_name: m.datasetName ?? null,
        dataset_digest: m.datasetDigest ?? null,
      };
    });
    for (const part of chunk(rows, INSERT_CHUNK)) {
      await this.db.insertInto('logged_model_metrics').values(part).onConflict((oc) => oc.doNothing()).execute();
    }
  }

  async searchLoggedModels(query: LoggedModelSearchQuery): Promise<Page<LoggedModelRecord>> {
    const { pks, next } = await searchLoggedModelPks(this.db, query);
    if (pks.length === 0) return next ? { items: [], next } : { items: [] };
    const rows = await this.db.selectFrom('logged_models').selectAll().where('id', 'in', pks).execute();
    const byPk = new Map(rows.map((r) => [Number(r.id), r]));
    const ordered = pks.map((pk) => byPk.get(pk)).filter((r): r is NonNullable<typeof r> => r !== undefined);
    const items = await this.loadLoggedModels(ordered);
    return next ? { items, next } : { items };
  }

  private async loadLoggedModels(rows: LoggedModelRow[]): Promise<LoggedModelRecord[]> {
    const pks = rows.map((r) => Number(r.id));
    const tags = new Map<number, KeyValue[]>();
    const params = new Map<number, KeyValue[]>();
    const metrics = new Map<number, MetricRecord[]>();
    for (const part of chunk(pks, IN_CHUNK)) {
      const [tagRows, paramRows, metricRows] = await Promise.all([
        this.db.selectFrom('logged_model_tags').selectAll().where('model_pk', 'in', part).execute(),
        this.db.selectFrom('logged_model_params').selectAll().where('model_pk', 'in', part).execute(),
        this.db.selectFrom('logged_model_metrics').selectAll().where('model_pk', 'in', part).orderBy('step').orderBy('timestamp').execute(),
      ]);
      for (const t of tagRows) pushTo(tags, Number(t.model_pk), { key: t.key, value: t.value });
      for (const p of paramRows) pushTo(params, Number(p.model_pk), { key: p.key, value: p.value });
      const modelIds = new Map(rows.map((r) => [Number(r.id), r.model_id]));
      for (const m of metricRows) {
        pushTo(metrics, Number(m.model_pk), {
          ...toMetric(m.key, m),
          modelId: modelIds.get(Number(m.model_pk)) ?? null,
          ...(m.run_uuid ? { runId: m.run_uuid } : {}),
        });
      }
    }
    return rows.map((r) => ({
      pk: Number(r.id),
      modelId: r.model_id,
      experimentId: String(r.experiment_id),
      name: r.name,
      artifactUri: r.artifact_uri,
      creationTimestamp: Number(r.creation_timestamp),
      lastUpdatedTimestamp: Number(r.last_updated_timestamp),
      status: r.status,
      statusMessage: r.status_message,
      creatorId: r.creator_id,
      modelType: r.model_type,
      sourceRunId: r.source_run_id,
      lifecycleStage: r.lifecycle_stage as LifecycleStage,
      tags: tags.get(Number(r.id)) ?? [],
      params: params.get(Number(r.id)) ?? [],
      metrics: metrics.get(Number(r.id)) ?? [],
    }));
  }
}

type ExperimentRow = Selectable<ExperimentTable>;

type LoggedModelRow = Selectable<LoggedModelTable>;

type RunRow = Selectable<RunTable>;

function toRunInfo(row: RunRow): RunInfoRecord {
  return {
    pk: Number(row.id),
    runId: row.run_uuid,
    runName: row.name,
    experimentId: String(row.experiment_id),
    userId: row.user_id,
    status: row.status,
    startTime: Number(row.start_time),
    endTime: row.end_time === null ? null : Number(row.end_time),
    artifactUri: row.artifact_uri,
    lifecycleStage: row.lifecycle_stage as LifecycleStage,
  };
}

function toMetric(
  key: string,
  row: {
    step: number;
    timestamp: number;
    value: number;
    is_nan: number;
    model_id?: string | null;
    dataset_name?: string | null;
    dataset_digest?: string | null;
  },
): MetricRecord {
  const metric: MetricRecord = {
    key,
    value: row.is_nan ? Number.NaN : Number(row.value),
    timestamp: Number(row.timestamp),
    step: Number(row.step),
  };
  if (row.model_id) metric.modelId = row.model_id;
  if (row.dataset_name) metric.datasetName = row.dataset_name;
  if (row.dataset_digest) metric.datasetDigest = row.dataset_digest;
  return metric;
}

/** MLflow's "latest" order: step, then timestamp, then value; NaN counts as the smallest value. */
function isNewerPoint(
  a: { step: number; timestamp: number; value: number; is_nan: number },
  b: { step: number; timestamp: number; value: number; is_nan: number },
): boolean {
  if (a.step !== b.step) return a.step > b.step;
  if (a.timestamp !== b.timestamp) return a.timestamp > b.timestamp;
  if (a.is_nan !== b.is_nan) return b.is_nan === 1;
  return a.value > b.value;
}

/** Up to `max` values spread evenly over a sorted list, always keeping the first and the last. */
export function sampleEvenly<T>(values: T[], max: number): T[] {
  if (values.length <= max) return values;
  if (max <= 1) return values.slice(0, max);
  const chosen: T[] = [];
  const stride = (values.length - 1) / (max - 1);
  let previous = -1;
  for (let i = 0; i < max; i++) {
    const index = Math.round(i * stride);
    if (index !== previous) chosen.push(values[index] as T);
    previous = index;
  }
  return chosen;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Experiment ids are integers in this store; anything else cannot name an experiment. */
function toIntId(id: string): number | undefined {
  return /^\d{1,15}$/.test(id) ? Number(id) : undefined;
}
