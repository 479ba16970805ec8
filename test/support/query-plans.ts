import { randomBytes } from 'node:crypto';
import { CompiledQuery, sql } from 'kysely';
import { openDatabase, type OpenedDatabase } from '../../src/store/sql/database.ts';
import { SqlTrackingStore } from '../../src/store/sql/sql-tracking-store.ts';
import { TrackingService } from '../../src/domain/tracking/tracking-service.ts';
import { AuditLog } from '../../src/domain/audit/audit-log.ts';
import { SqlAuthStore } from '../../src/store/sql/sql-auth-store.ts';
import type { RunSearchQuery } from '../../src/store/tracking-store.ts';

/**
 * Query plans of the store's hot paths (run search and paging, metric filters and ordering, run
 * loading, metric history) on a seeded database: every statement the store issues for a scenario
 * is captured through the database's query hook and EXPLAINed with its real parameters.
 *
 * Two modes:
 * - `chosen`: the plans the planners actually pick after ANALYZE, on a seed large enough for
 *   PostgreSQL to prefer indexes (scripts/query-plans.ts writes them to docs/query-plans.md);
 * - `index-paths`: on a small seed, whether an index *can* serve each statement. PostgreSQL is
 *   told to avoid sequential scans (it still uses one when no index applies) and SQLite, without
 *   statistics, assumes big tables. test/store/query-plans.test.ts asserts on this mode, so a
 *   query rewritten into a shape no index serves fails the tests on both databases in seconds.
 */

export interface StatementPlan {
  sql: string;
  /** The plan, one line per node, indented by depth. */
  plan: string[];
}

export interface ScenarioPlans {
  scenario: string;
  statements: StatementPlan[];
}

export interface SeedSize {
  experiments: number;
  runsPerExperiment: number;
  /** Runs of the first experiment that also get a metric history. */
  runsWithHistory: number;
  pointsPerHistory: number;
}

export type PlanMode = 'chosen' | 'index-paths';

export const DEFAULT_SEED: SeedSize = { experiments: 8, runsPerExperiment: 12_500, runsWithHistory: 20, pointsPerHistory: 500 };

/** Tables whose full scan would make a request's cost grow with the whole database. */
export const LARGE_TABLES = ['runs', 'metrics', 'metric_rollups', 'latest_metrics', 'params', 'run_tags'];

const T0 = 1_700_000_000_000;

export async function collectQueryPlans(
  uri: string,
  seed: SeedSize = DEFAULT_SEED,
  mode: PlanMode = 'chosen',
): Promise<{ dialect: 'sqlite' | 'postgres'; scenarios: ScenarioPlans[] }> {
  let capture: CompiledQuery[] | undefined;
  const database = await openDatabase(uri, {
    onQuery: (query) => {
      capture?.push(query);
    },
  });
  try {
    const store = new SqlTrackingStore(database.db);
    // Composed as the server composes it (src/server.ts), audit log included.
    const tracking = new TrackingService(store, 'mlflow-artifacts:/', undefined, new AuditLog(new SqlAuthStore(database.db)));
    const { experimentId, runId, runPk } = await seedDatabase(database, store, seed, mode === 'chosen');
    const searchQuery = (overrides: Partial<RunSearchQuery>): RunSearchQuery => ({
      experimentIds: [experimentId],
      filter: [],
      orderBy: [],
      viewType: 'ACTIVE_ONLY',
      maxResults: 100,
      page: { offset: 0, snapshot: null },
      ...overrides,
    });
    const metricSearch = searchQuery({
      filter: [
        { entity: 'metric', key: 'acc', comparator: '>', value: 0.3 },
        { entity: 'param', key: 'lr', comparator: '=', value: '0.01' },
      ],
      orderBy: [{ entity: 'metric', key: 'acc', ascending: false }],
    });
    // Keyset positions after 2,000 rows, taken before capturing (the pages reach there).
    const deepDefault = (await store.searchRuns(searchQuery({ maxResults: 2_000 }))).next;
    const deepMetric = (await store.searchRuns({ ...metricSearch, maxResults: 2_000 })).next;
    const scenarios: Array<[string, () => Promise<unknown>]> = [
      ['search runs: first page in the default order (start time)', () => store.searchRuns(searchQuery({}))],
      ['search runs: a page of 1,000 in the default order', () => store.searchRuns(searchQuery({ maxResults: 1_000 }))],
      ['search runs: a deep page (keyset, after 2,000 rows)', () => store.searchRuns(searchQuery({ page: deepDefault ?? { offset: 0, snapshot: null } }))],
      ['search runs: a deep page (an old offset token, offset 2,000)', () => store.searchRuns(searchQuery({ page: { offset: 2_000, snapshot: Number.MAX_SAFE_INTEGER } }))],
      ['search runs: metric and param filters, ordered by the metric (first page)', () => store.searchRuns(metricSearch)],
      [
        'search runs: metric and param filters, ordered by the metric (keyset page after 2,000 rows)',
        () => store.searchRuns({ ...metricSearch, page: deepMetric ?? { offset: 0, snapshot: null } }),
      ],
      [
        'search runs: metric filter and ordering by another metric',
        () =>
          store.searchRuns(
            searchQuery({
              filter: [{ entity: 'metric', key: 'acc', comparator: '>', value: 0.5 }],
              orderBy: [{ entity: 'metric', key: 'loss', ascending: true }],
            }),
          ),
      ],
      [
        // Across experiments (the experiment-scoped value index serves one experiment's walk).
        'search runs: metric filter over two experiments, default order',
        () =>
          store.searchRuns(
            searchQuery({
              experimentIds: [experimentId, '0'],
              filter: [{ entity: 'metric', key: 'acc', comparator: '>', value: 0.9 }],
            }),
          ),
      ],
      [
        'search runs: param and tag filters',
        () =>
          store.searchRuns(
            searchQuery({
              filter: [
                { entity: 'param', key: 'lr', comparator: '=', value: '0.01' },
                { entity: 'tag', key: 'team', comparator: 'LIKE', value: 'vis%' },
              ],
            }),
          ),
      ],
      ['get run (info, params, tags, latest metrics)', () => store.getRun(runId)],
      ['metric history of one run, one page', () => store.getMetricHistory({ runPk, key: 'loss', maxResults: 1_000, offset: 0 })],
      [
        'downsampled metric history',
        () => store.getMetricSeriesDownsampled({ runPk, key: 'loss', xAxis: 'step', start: null, end: null, maxBuckets: 50 }),
      ],
      [
        // Through the domain's logBatch, as the log-batch route calls it: on PostgreSQL the store's
        // one statement (logRunBatch), on SQLite the checked path in a transaction.
        'log-batch: 1,000 new points of one metric',
        () =>
          tracking.logBatch({
            runId,
            metrics: Array.from({ length: 1_000 }, (_, i) => ({ key: 'loss', step: seed.pointsPerHistory + i, timestamp: T0 + seed.pointsPerHistory + i, value: 1 / (i + 2) })),
            params: [],
            tags: [],
          }),
      ],
      [
        'search experiments: first page',
        () => store.searchExperiments({ projectId: 1, filter: [], orderBy: [], viewType: 'ACTIVE_ONLY', maxResults: 100, page: { offset: 0, snapshot: null } }),
      ],
    ];

    const results: ScenarioPlans[] = [];
    for (const [scenario, run] of scenarios) {
      const captured: CompiledQuery[] = [];
      capture = captured;
      await run();
      capture = undefined;
      const seen = new Set<string>();
      const statements: StatementPlan[] = [];
      for (const query of captured) {
        if (seen.has(query.sql) || /^(begin|commit|rollback|savepoint|release)\b/i.test(query.sql.trim())) continue;
        seen.add(query.sql);
        statements.push({ sql: normaliseSql(query.sql), plan: await explain(database, query, mode) });
      }
      results.push({ scenario, statements });
    }
    return { dialect: database.dialect, scenarios: results };
  } finally {
    await database.close();
  }
}

/** Full scans of a large table in a plan, empty when every access to one goes through an index. */
export function fullScans(dialect: 'sqlite' | 'postgres', plan: string[]): string[] {
  const tables = LARGE_TABLES.join('|');
  // SQLite says "SEARCH runs USING INDEX i (a=?)" for an index lookup and "SCAN runs" (or "SCAN
  // runs USING INDEX i", a walk of the whole index) for a full scan, naming a table by the alias
  // the query gives it (the store's subqueries use lm, p and t). PostgreSQL says "Seq Scan on runs"
  // and adds the alias after the table.
  const pattern =
    dialect === 'sqlite' ? new RegExp(`^\\s*SCAN (${tables}|lm|p|t)\\b`) : new RegExp(`Seq Scan on (${tables})\\b`);
  return plan.filter((line) => pattern.test(line));
}

async function explain(database: OpenedDatabase, query: CompiledQuery, mode: PlanMode): Promise<string[]> {
  if (database.dialect === 'sqlite') {
    const result = await database.db.executeQuery<{ id: number; parent: number; detail: string }>(
      CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
    );
    const depth = new Map<number, number>([[0, -1]]);
    return result.rows.map((row) => {
      const level = (depth.get(row.parent) ?? -1) + 1;
      depth.set(row.id, level);
      return `${'  '.repeat(level)}${row.detail}`;
    });
  }
  const result = await database.db.transaction().execute(async (trx) => {
    if (mode === 'index-paths') await sql`set local enable_seqscan = off`.execute(trx);
    return trx.executeQuery<{ 'QUERY PLAN': string }>(CompiledQuery.raw(`explain (costs off) ${query.sql}`, [...query.parameters]));
  });
  return result.rows.map((row) => shortenPlanLine(row['QUERY PLAN']));
}

/** One line, with long parameter lists shortened (`$1, …, $100`). */
function normaliseSql(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\$(\d+)(?:, \$\d+){3,}, \$(\d+)/g, '$$$1, …, $$$2')
    .replace(/\?(?:, \?){3,}/g, '?, …, ?')
    // Multi-row VALUES: the first and last row and how many.
    .replace(/(\([^()]*\))((?:, \([^()]*\)){3,})/g, (_, first: string, rest: string) => {
      const rows = rest.split('), (');
      return `${first}, …, (${rows[rows.length - 1]!.replace(/^, \(/, '')} /* ${rows.length + 1} rows */`;
    });
}

/** Long literal arrays in PostgreSQL plans shortened to their first values. */
function shortenPlanLine(line: string): string {
  return line.replace(/'\{([^}]{40,})\}'/g, (_, values: string) => `'{${values.split(',').slice(0, 3).join(',')},…}'`);
}

/**
 * Experiments of equal size, each run with two latest metrics, a param and a tag; a few runs of
 * the first experiment with a long metric history. Rows are inserted in bulk (the plans, not the
 * write path, are under test), then (when asked) the planner statistics are refreshed.
 */
async function seedDatabase(
  database: OpenedDatabase,
  store: SqlTrackingStore,
  seed: SeedSize,
  analyze: boolean,
): Promise<{ experimentId: string; runId: string; runPk: number }> {
  await store.ensureDefaultExperiment('mlflow-artifacts:/0', T0);
  const experimentIds: string[] = [];
  for (let e = 0; e < seed.experiments; e += 1) {
    experimentIds.push(
      await store.createExperiment({
        projectId: 1,
        name: `plans-${e}-${randomBytes(3).toString('hex')}`,
        artifactLocation: null,
        artifactLocationFor: (id) => `mlflow-artifacts:/${id}`,
        tags: [],
        now: T0,
      }),
    );
  }
  // Key ids through the store, so they are the ones its queries look up.
  const keys = await database.db.transaction().execute(async (trx) => {
    await trx.insertInto('metric_keys').values([{ key: 'loss' }, { key: 'acc' }]).onConflict((oc) => oc.column('key').doNothing()).execute();
    return trx.selectFrom('metric_keys').select(['id', 'key']).execute();
  });
  const keyId = (key: string): number => Number(keys.find((k) => k.key === key)?.id);

  const db = database.db;
  const chunkSize = 500;
  for (const experimentId of experimentIds) {
    for (let offset = 0; offset < seed.runsPerExperiment; offset += chunkSize) {
      const count = Math.min(chunkSize, seed.runsPerExperiment - offset);
      const runs = Array.from({ length: count }, (_, i) => {
        const runUuid = randomBytes(16).toString('hex');
        return {
          run_uuid: runUuid,
          experiment_id: Number(experimentId),
          name: `run-${offset + i}`,
          user_id: 'bench',
          status: 'FINISHED',
          start_time: T0 + offset + i,
          end_time: T0 + offset + i + 1000,
          lifecycle_stage: 'active',
          artifact_uri: `mlflow-artifacts:/${experimentId}/${runUuid}/artifacts`,
          deleted_time: null,
        };
      });
      const inserted = await db.insertInto('runs').values(runs).returning('id').execute();
      const pks = inserted.map((row) => Number(row.id));
      await db
        .insertInto('latest_metrics')
        .values(
          pks.flatMap((pk, i) => [
            { run_id: pk, key_id: keyId('loss'), step: 10, timestamp: T0, value: ((offset + i) % 997) / 997, is_nan: 0, experiment_id: Number(experimentId) },
            { run_id: pk, key_id: keyId('acc'), step: 10, timestamp: T0, value: ((offset + i) % 101) / 101, is_nan: 0, experiment_id: Number(experimentId) },
          ]),
        )
        .execute();
      await db.insertInto('params').values(pks.map((pk, i) => ({ run_id: pk, key: 'lr', value: ['0.1', '0.01', '0.001'][i % 3] as string }))).execute();
      await db.insertInto('run_tags').values(pks.map((pk, i) => ({ run_id: pk, key: 'team', value: i % 2 ? 'vision' : 'nlp' }))).execute();
    }
  }
  const firstExperiment = experimentIds[0] as string;
  const historyRuns = await db
    .selectFrom('runs')
    .select(['id', 'run_uuid'])
    .where('experiment_id', '=', Number(firstExperiment))
    .orderBy('id')
    .limit(seed.runsWithHistory)
    .execute();
  // Histories through the store's write path, so everything it keeps besides the points (latest
  // values, rollups for downsampling) is there as in real use.
  for (const run of historyRuns) {
    const points = Array.from({ length: seed.pointsPerHistory }, (_, step) => ({ key: 'loss', step, timestamp: T0 + step, value: 1 / (step + 1) }));
    for (let offset = 0; offset < points.length; offset += chunkSize) {
      await store.logMetrics(Number(run.id), points.slice(offset, offset + chunkSize));
    }
  }
  if (analyze) await sql`analyze`.execute(db);
  const sample = historyRuns[0];
  if (!sample) throw new Error('seeding created no runs');
  return { experimentId: firstExperiment, runId: sample.run_uuid, runPk: Number(sample.id) };
}
