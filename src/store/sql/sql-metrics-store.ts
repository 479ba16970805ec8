import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { dialectOf } from './dialect.ts';
import type { MetricHistoryQuery, DownsampleQuery, DownsampledSeries, MetricRecord } from '../tracking-store.ts';
import {
  mergePart,
  readBlockZero,
  readRollupExtent,
  readRollups,
  readTopRollups,
  rolledUpKeys,
  rollupLevelFor,
  rollupRowsFor,
  upsertRollups,
  type RollupPart,
} from './metric-rollups.ts';
import { chunk } from './sql-conditions.ts';
import { prepared } from './prepared.ts';
import { insertMetricPoints, newestPerKey, pointColumns, upsertLatestMetrics } from './metric-ingest.ts';
import { isMetricColumns, type MetricColumns } from '../metric-columns.ts';
import { ingestMetricsPostgres } from './metric-ingest-postgres.ts';
import {
  IN_CHUNK,
  toMetric,
} from './sql-tracking-base.ts';
import { SqlExperimentsStore } from './sql-experiments-store.ts';

/** Metric points, their latest values and rollups, histories (paged, sampled, downsampled), metric key ids. */
export abstract class SqlMetricsStore extends SqlExperimentsStore {
  async logMetrics(runPk: number, metrics: MetricRecord[] | MetricColumns): Promise<void> {
    if (metrics.length === 0) return;
    await this.transaction(async (store) => {
      // The store handed out by transaction() is this same class on the transaction.
      const self = store as unknown as this;
      const fromBody = isMetricColumns(metrics) ? metrics : undefined;
      const keyIds = await self.resolveMetricKeyIds(fromBody ? [...fromBody.keys] : distinctKeys(metrics as MetricRecord[]));
      // The batch as columns, not an object per point (metric-ingest.ts).
      const columns = pointColumns(metrics, keyIds);
      // PostgreSQL: points, rollups and latest values in one statement (metric-ingest-postgres.ts).
      if (dialectOf(self.db as Kysely<unknown>) === 'postgres') return ingestMetricsPostgres(self.db, runPk, columns);
      // One multi-row statement for the points; it yields only the points actually inserted, so a
      // re-sent point (MLflow 3 re-logs a run's metrics with the model id) is not counted twice in
      // the rollups (metric-ingest.ts: RETURNING only when some point was not new).
      // The rollups go up to each key's top level, read here (the single SQLite writer is the lock).
      const inserted = await insertMetricPoints(self.db, runPk, columns);
      const tops = await readTopRollups(self.db, runPk, rolledUpKeys(inserted));
      await upsertRollups(self.db, rollupRowsFor(runPk, inserted, tops));
      // The newest point per key among the incoming ones; the upsert keeps a newer stored one.
      await upsertLatestMetrics(self.db, runPk, columns, newestPerKey(columns));
    });
  }

  async getMetricHistory(query: MetricHistoryQuery): Promise<MetricRecord[]> {
    const keyId = await this.lookupMetricKeyId(query.key);
    if (keyId === undefined) return [];
    let page = this.db
      .selectFrom('metrics')
      .select(['step', 'timestamp', 'value', 'is_nan', 'model_id', 'dataset_name', 'dataset_digest'])
      .where('run_id', '=', query.runPk)
      .where('key_id', '=', keyId);
    const after = query.after;
    if (after) {
      // A keyset page walks the primary key (run, key, step, timestamp, value, is_nan) from the
      // previous page's last point on: page 40 of a 1,000,000-point series reads 25,000 index
      // entries, where OFFSET walked the 975,000 before them too (465 ms against 11 ms per page on
      // PostgreSQL). NaN is stored as value 0 with is_nan 1, so it sorts right after a real 0.
      const isNan = Number.isNaN(after.value) ? 1 : 0;
      const value = isNan ? 0 : after.value;
      page = page.where(sql<boolean>`(step, timestamp, value, is_nan) > (${after.step}, ${after.timestamp}, ${value}, ${isNan})`);
    }
    page = page.orderBy('step').orderBy('timestamp').orderBy('value').orderBy('is_nan').limit(query.maxResults).offset(after ? 0 : query.offset);
    // The same text for every page (one with a keyset position, one without): prepared once per
    // PostgreSQL connection (prepared.ts).
    if (dialectOf(this.db as Kysely<unknown>) === 'postgres') return this.historyPagePostgres(query.key, page);
    const { rows } = await this.db.executeQuery(prepared(page.compile()));
    return rows.map((r) => toMetric(query.key, r));
  }

  /**
   * A history page on PostgreSQL as the text of one JSON array of [step, timestamp, value, is_nan]
   * (plus model id, dataset name and digest when a point has any), concatenated by the database:
   * one text value for node-postgres to read instead of one row of seven text columns per point.
   * Per page of 25,000 points (one connection, CPU time of both processes): rows 12 ms in
   * PostgreSQL + 48 ms in Node (strings, row objects, int8 parsing and their garbage); this text
   * 24 + 17 ms; `json_agg(json_build_array(…))` 32 + 19 ms. Doubles print with the shortest
   * digits that read back as the same double (extra_float_digits default since PostgreSQL 12), as
   * get-run's JSON arrays do; the infinities are quoted ("Infinity"), which `Number` reads.
   */
  private async historyPagePostgres(key: string, page: { compile(): CompiledQuery }): Promise<MetricRecord[]> {
    const inner = page.compile();
    const value = sql`case when m."value" in ('Infinity', '-Infinity') then '"' || m."value" || '"' else m."value"::text end`;
    const extras = sql`case when m.model_id is null and m.dataset_name is null and m.dataset_digest is null then ']'
      else ',' || coalesce(to_json(m.model_id)::text, 'null') || ',' || coalesce(to_json(m.dataset_name)::text, 'null')
        || ',' || coalesce(to_json(m.dataset_digest)::text, 'null') || ']' end`;
    const point = sql`'[' || m.step || ',' || m."timestamp" || ',' || ${value} || ',' || m.is_nan || ${extras}`;
    const statement = sql<{ items: string }>`select '[' || coalesce(string_agg(${point}, ',' order by m.step, m."timestamp", m."value", m.is_nan), '') || ']' as items
      from (${sql.raw(inner.sql)}) m`;
    const compiled = statement.compile(this.db);
    const { rows } = await this.db.executeQuery(prepared<{ items: string }>({ ...compiled, parameters: inner.parameters }));
    const items = JSON.parse(rows[0]?.items ?? '[]') as Array<[number, number, number | string, number, (string | null)?, (string | null)?, (string | null)?]>;
    const points: MetricRecord[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const [step, timestamp, value, isNan, modelId, datasetName, datasetDigest] = items[i]!;
      const metric: MetricRecord = { key, value: isNan ? Number.NaN : Number(value), timestamp, step };
      if (modelId) metric.modelId = modelId;
      if (datasetName) metric.datasetName = datasetName;
      if (datasetDigest) metric.datasetDigest = datasetDigest;
      points[i] = metric;
    }
    return points;
  }

  /**
   * Up to `maxPoints` points per run, picked as MLflow 3.18 picks them: the run's points in
   * (step, timestamp, value) order are cut into `maxPoints` NTILE buckets and the first point of
   * each is kept; the run's very last point is always kept too, replacing the last pick when the
   * result is already full. Sampling rows, not distinct steps, keeps the answer bounded when many
   * points share a step.
   */
  async getMetricHistorySampled(input: {
    runs: Array<{ pk: number; runId: string }>;
    key: string;
    startStep: number | null;
    endStep: number | null;
    maxPoints: number;
  }): Promise<MetricRecord[]> {
    const keyId = await this.lookupMetricKeyId(input.key);
    if (keyId === undefined) return [];
    const buckets = Math.max(1, input.maxPoints);
    const result: MetricRecord[] = [];
    for (const run of input.runs) {
      const inRange = sql`run_id = ${run.pk} AND key_id = ${keyId}${input.startStep !== null ? sql` AND step >= ${input.startStep}` : sql``}${input.endStep !== null ? sql` AND step <= ${input.endStep}` : sql``}`;
      const order = sql`step, ${sql.ref('timestamp')}, value, is_nan`;
      const picked = await sql<SampledRow>`
        WITH bucketed AS (
          SELECT step, ${sql.ref('timestamp')}, value, is_nan, model_id, dataset_name, dataset_digest,
                 NTILE(${buckets}) OVER (ORDER BY ${order}) AS bucket
          FROM metrics WHERE ${inRange}
        ), ranked AS (
          SELECT bucketed.*, ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY ${order}) AS rn FROM bucketed
        )
        SELECT step, ${sql.ref('timestamp')}, value, is_nan, model_id, dataset_name, dataset_digest
        FROM ranked WHERE rn = 1 ORDER BY ${order}`.execute(this.db);
      const rows = picked.rows;
      const last = (
        await sql<SampledRow>`
          SELECT step, ${sql.ref('timestamp')}, value, is_nan, model_id, dataset_name, dataset_digest
          FROM metrics WHERE ${inRange}
          ORDER BY step DESC, ${sql.ref('timestamp')} DESC, value DESC, is_nan DESC LIMIT 1`.execute(this.db)
      ).rows[0];
      const tail = rows[rows.length - 1];
      if (last && (!tail || !samePoint(tail, last))) {
        if (rows.length >= buckets) rows[rows.length - 1] = last;
        else rows.push(last);
      }
      for (const r of rows) result.push({ ...toMetric(input.key, normalizeRow(r)), runId: run.runId });
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
    // would read every point (is_nan sits after step in the key, so min/max cannot seek). An
    // explicit bound replaces its side of the extent, and the read above found points in range,
    // so the series' own extent serves for a missing side.
    const extent =
      column === 'step'
        ? await readRollupExtent(this.db, query.runPk, keyId)
        : await base.select((eb) => [eb.fn.min(column).as('lo'), eb.fn.max(column).as('hi')]).executeTakeFirst();
    if (!extent || extent.lo === null || extent.hi === null) return empty;

    // An explicit range fixes the bucket grid, so series of several runs drawn together line up.
    const lo = query.start ?? Number(extent.lo);
    const hi = query.end ?? Number(extent.hi);
    const width = Math.max(1, Math.ceil((hi - lo + 1) / query.maxBuckets));
    if (column === 'step') {
      const level = rollupLevelFor(width);
      if (level !== undefined && 'top' in extent && extent.top !== null) {
        return this.downsampleFromRollups({ runPk: query.runPk, keyId, level, top: extent.top, lo, hi, width, explicitRange: query.start !== null || query.end !== null });
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
  protected async downsampleFromRollups(input: {
    runPk: number;
    keyId: number;
    level: number;
    /** The series' top rollup level: above it, its single top block stands for the level's block. */
    top: number;
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
      // Whole blocks of the wanted level, each one part. Block 0 is read from the finer levels
      // (readBlockZero): on PostgreSQL a coarse level's block 0 may lack points of early batches.
      const blocks = new Map<number, RollupPart>();
      const add = (part: RollupPart) => {
        const block = Math.floor(part.step_min / size);
        if (block < firstBlock || block > lastBlock) return;
        const same = blocks.get(block);
        if (same) mergePart(same, part);
        else blocks.set(block, { ...part, block });
      };
      const { runPk, keyId } = input;
      if (input.level <= input.top) {
        for (const row of await readRollups(this.db, { runPk, keyId, level: input.level, firstBlock, lastBlock })) if (row.block !== 0) add(row);
        if (firstBlock <= 0 && lastBlock >= 0) {
          const zero = await readBlockZero(this.db, { runPk, keyId, upTo: input.level - 1 });
          if (zero) add(zero);
        }
      } else {
        // Levels above the top are not stored. Steps from 0 on lie in block 0 of every level above
        // it (readBlockZero up to the top); the top's blocks outside 0 … 7 (negative steps, or a
        // SQLite top far from step 0) each lie in one block of the wanted level too.
        const top = await readRollups(this.db, { runPk, keyId, level: input.top, firstBlock: Number.MIN_SAFE_INTEGER, lastBlock: Number.MAX_SAFE_INTEGER });
        for (const row of top) if (row.block < 0 || row.block > 7) add(row);
        const zero = await readBlockZero(this.db, { runPk, keyId, upTo: input.top });
        if (zero) add(zero);
      }
      parts.push(...blocks.values());
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

  // ---------------------------------------------------------------- metric keys

  protected async lookupMetricKeyId(key: string): Promise<number | undefined> {
    const cached = this.keyCache.ids.get(key) ?? this.pendingKeys.get(key);
    if (cached !== undefined) return cached;
    const row = await this.db.selectFrom('metric_keys').select('id').where('key', '=', key).executeTakeFirst();
    if (!row) return undefined;
    const id = Number(row.id);
    if (this.inTransaction) this.pendingKeys.set(key, id);
    else this.keyCache.ids.set(key, id);
    return id;
  }

  protected async resolveMetricKeyIds(keys: string[]): Promise<Map<string, number>> {
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
}

/** The distinct keys of a batch (a long series is one key repeated: compared, not hashed, per point). */
function distinctKeys(metrics: readonly MetricRecord[]): string[] {
  const keys = new Set<string>();
  let last: string | undefined;
  for (const m of metrics) if (m.key !== last) keys.add((last = m.key));
  return [...keys];
}

interface SampledRow {
  step: number | string;
  timestamp: number | string;
  value: number | string;
  is_nan: number | boolean;
  model_id: string | null;
  dataset_name: string | null;
  dataset_digest: string | null;
}

/** Raw rows come back as text for PostgreSQL bigints and as booleans or ints for is_nan. */
function normalizeRow(r: SampledRow) {
  return {
    step: Number(r.step),
    timestamp: Number(r.timestamp),
    value: Number(r.value),
    is_nan: r.is_nan === true || Number(r.is_nan) === 1 ? 1 : 0,
    model_id: r.model_id,
    dataset_name: r.dataset_name,
    dataset_digest: r.dataset_digest,
  };
}

function samePoint(a: SampledRow, b: SampledRow): boolean {
  const x = normalizeRow(a);
  const y = normalizeRow(b);
  return x.step === y.step && x.timestamp === y.timestamp && x.is_nan === y.is_nan && (x.is_nan === 1 || x.value === y.value);
}
