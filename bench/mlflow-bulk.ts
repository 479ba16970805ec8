/**
 * Bulk-loads the rest of the benchmark's data into the database `mlflow server` created and
 * migrated, after the first runs and points went through its REST API (where the seeding rate
 * is measured). At ~40 runs/s through the API, the 25,000-run dataset takes 12 minutes to seed
 * and the 100,000-run one 45; inserted straight into MLflow's own tables it takes seconds.
 *
 * Nothing here hard-codes how MLflow stores a run: each new row is a copy of the matching row
 * MLflow itself wrote for an API-seeded run of the same dataset (the template), with only what
 * differs from run to run replaced (id, name, start time, artifact URI, experiment, the values of
 * bench/seed-data.ts). The template is first checked against bench/seed-data.ts, so a change in
 * how MLflow stores a value stops the bulk load instead of loading different data.
 */
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import pg from 'pg';
import { historyPoint, HISTORY_KEY, searchRun, type SearchRun } from './seed-data.ts';

type Row = Record<string, unknown>;

/** The few database operations the bulk load needs, on MLflow's SQLite file or PostgreSQL database. */
export interface BulkDatabase {
  readonly dialect: 'sqlite' | 'postgres';
  /** A query with `?` placeholders. */
  all(sql: string, params?: unknown[]): Promise<Row[]>;
  /** A statement without rows (UPDATE, ANALYZE), `?` placeholders. */
  run(sql: string, params?: unknown[]): Promise<void>;
  /** Inserts rows (objects with the same keys) into `table`. */
  insert(table: string, rows: Row[]): Promise<void>;
  transaction(work: () => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

const quote = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** MLflow's SQLite file: better-sqlite3, waiting up to a minute for a lock MLflow's processes may hold. */
export function openSqlite(file: string): BulkDatabase {
  const db = new Database(file, { timeout: 60_000 });
  // This connection only: commits without fsync (99,999 runs 66 s -> 24 s at load ~12). The file's
  // content is the same; only a machine crash mid-load could hurt it, and that ends the run anyway.
  db.pragma('synchronous = OFF');
  const statements = new Map<string, Database.Statement>();
  const prepared = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) statements.set(sql, (s = db.prepare(sql)));
    return s;
  };
  // better-sqlite3 binds booleans as errors and bigints as integers: MLflow's booleans are 0/1.
  const bind = (v: unknown): unknown => (typeof v === 'boolean' ? (v ? 1 : 0) : v);
  return {
    dialect: 'sqlite',
    async all(sql, params = []) {
      return prepared(sql).all(...params.map(bind)) as Row[];
    },
    async run(sql, params = []) {
      prepared(sql).run(...params.map(bind));
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0] as Row);
      const statement = prepared(`INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
      for (const row of rows) statement.run(...columns.map((c) => bind(row[c])));
    },
    async transaction(work) {
      db.exec('BEGIN IMMEDIATE');
      try {
        await work();
        db.exec('COMMIT');
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
    async close() {
      db.close();
    },
  };
}

/**
 * MLflow's PostgreSQL database: one INSERT … SELECT FROM unnest(<one array per column>) per 20,000
 * rows, the arrays cast to the columns' own types (twice as fast as multi-row VALUES here).
 */
export async function openPostgres(uri: string): Promise<BulkDatabase> {
  const client = new pg.Client({ connectionString: uri });
  await client.connect();
  const numbered = (sql: string): string => {
    let i = 0;
    return sql.replace(/\?/g, () => `$${++i}`);
  };
  const types = new Map<string, Map<string, string>>();
  const columnTypes = async (table: string): Promise<Map<string, string>> => {
    let t = types.get(table);
    if (!t) {
      const res = await client.query<{ column_name: string; udt_name: string }>(
        'SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
        [table],
      );
      types.set(table, (t = new Map(res.rows.map((r) => [r.column_name, r.udt_name]))));
    }
    return t;
  };
  return {
    dialect: 'postgres',
    async all(sql, params = []) {
      return (await client.query(numbered(sql), params)).rows as Row[];
    },
    async run(sql, params = []) {
      await client.query(numbered(sql), params);
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      const columns = Object.keys(rows[0] as Row);
      const typeOf = await columnTypes(table);
      const casts = columns.map((c, i) => {
        const type = typeOf.get(c);
        if (!type || !/^[a-z0-9_]+$/.test(type)) throw new Error(`bulk load: no type for ${table}.${c}`);
        return `$${i + 1}::${type}[]`;
      });
      const sql = `INSERT INTO ${quote(table)} (${columns.map(quote).join(', ')}) SELECT * FROM unnest(${casts.join(', ')})`;
      for (let i = 0; i < rows.length; i += 20_000) {
        const chunk = rows.slice(i, i + 20_000);
        await client.query(sql, columns.map((c) => chunk.map((row) => row[c] ?? null)));
      }
    },
    async transaction(work) {
      await client.query('BEGIN');
      try {
        await work();
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
    async close() {
      await client.end();
    },
  };
}

/** Opens the database behind an `mlflow server --backend-store-uri`. */
export async function openMlflowDatabase(backendUri: string): Promise<BulkDatabase> {
  const sqlite = /^sqlite:\/\/\/(.+)$/.exec(backendUri);
  if (sqlite) return openSqlite(sqlite[1] as string);
  if (/^postgres(ql)?(\+\w+)?:\/\//.test(backendUri)) return openPostgres(backendUri.replace(/^postgres(ql)?(\+\w+)?:\/\//, 'postgresql://'));
  throw new Error(`no bulk loader for ${backendUri}`);
}

/** Rows MLflow wrote for one run, read as templates. */
interface RunTemplate {
  run: Row;
  tags: Row[];
  params: Row[];
  metrics: Row[];
  latest: Row[];
}

const sameNumber = (a: unknown, b: number): boolean => Number(a) === b;

/**
 * Reads the API-seeded run `template` of the dataset back from MLflow's tables and checks it holds
 * exactly what bench/seed-data.ts says, in the shape the bulk load copies.
 */
async function readTemplate(db: BulkDatabase, template: SearchRun, locations: Map<number, string>): Promise<RunTemplate> {
  const runs = await db.all('SELECT * FROM runs WHERE name = ?', [template.name]);
  if (runs.length !== 1) throw new Error(`bulk load: expected one API-seeded run named ${template.name} in MLflow's runs table, found ${runs.length}`);
  const run = runs[0] as Row;
  const id = String(run.run_uuid);
  const t: RunTemplate = {
    run,
    tags: await db.all('SELECT * FROM tags WHERE run_uuid = ?', [id]),
    params: await db.all('SELECT * FROM params WHERE run_uuid = ?', [id]),
    metrics: await db.all('SELECT * FROM metrics WHERE run_uuid = ?', [id]),
    latest: await db.all('SELECT * FROM latest_metrics WHERE run_uuid = ?', [id]),
  };
  const problems: string[] = [];
  const location = locations.get(Number(run.experiment_id));
  if (run.artifact_uri !== `${location}/${id}/artifacts`) problems.push(`artifact_uri ${String(run.artifact_uri)} is not <experiment artifact_location>/<run id>/artifacts`);
  if (!sameNumber(run.start_time, template.startTime)) problems.push(`start_time ${String(run.start_time)}`);
  for (const tag of template.tags) if (!t.tags.some((r) => r.key === tag.key && r.value === tag.value)) problems.push(`tag ${tag.key} missing`);
  if (t.params.length !== template.params.length) problems.push(`${t.params.length} params`);
  for (const p of template.params) if (!t.params.some((r) => r.key === p.key && r.value === p.value)) problems.push(`param ${p.key} differs`);
  for (const [table, rows] of [['metrics', t.metrics], ['latest_metrics', t.latest]] as const) {
    if (rows.length !== template.metrics.length) problems.push(`${rows.length} ${table} rows`);
    for (const m of template.metrics) {
      if (!rows.some((r) => r.key === m.key && sameNumber(r.value, m.value) && sameNumber(r.step, m.step) && sameNumber(r.timestamp, m.timestamp))) problems.push(`${table} ${m.key} differs`);
    }
  }
  if (problems.length) throw new Error(`bulk load: MLflow stored the API-seeded ${template.name} unlike bench/seed-data.ts: ${problems.join('; ')}`);
  return t;
}

/** The rows of run `g`, copied from the template with what differs replaced. */
export function runRows(t: RunTemplate, want: SearchRun, templateName: string, experimentId: number, artifactLocation: string, runUuid: string): { run: Row; tags: Row[]; params: Row[]; metrics: Row[]; latest: Row[] } {
  const generated = new Map(want.tags.map((tag) => [tag.key, tag.value]));
  const param = new Map(want.params.map((p) => [p.key, p.value]));
  const metric = new Map(want.metrics.map((m) => [m.key, m]));
  const metricRow = (r: Row): Row => {
    const m = metric.get(String(r.key));
    if (!m) throw new Error(`bulk load: template metric ${String(r.key)} is not in the dataset`);
    return { ...r, run_uuid: runUuid, value: m.value, timestamp: m.timestamp, step: m.step };
  };
  return {
    run: { ...t.run, run_uuid: runUuid, name: want.name, start_time: want.startTime, experiment_id: experimentId, artifact_uri: `${artifactLocation}/${runUuid}/artifacts` },
    // A tag of the dataset gets its value; one the server added with the run's name (mlflow.runName)
    // gets the new name; any other server-added tag is copied as it is.
    tags: t.tags.map((r) => ({ ...r, run_uuid: runUuid, value: generated.get(String(r.key)) ?? (r.value === templateName ? want.name : r.value) })),
    params: t.params.map((r) => {
      const value = param.get(String(r.key));
      if (value === undefined) throw new Error(`bulk load: template param ${String(r.key)} is not in the dataset`);
      return { ...r, run_uuid: runUuid, value };
    }),
    metrics: t.metrics.map(metricRow),
    latest: t.latest.map(metricRow),
  };
}

/**
 * Inserts runs `from`..`to - 1` of the search dataset into MLflow's tables, `perExperiment` to each
 * of `experimentIds`, copying run `templateIndex` (already seeded through the API).
 */
export async function bulkLoadRuns(db: BulkDatabase, o: { experimentIds: string[]; perExperiment: number; from: number; to: number; templateIndex?: number; chunk?: number }): Promise<void> {
  const templateRun = searchRun(o.templateIndex ?? 0, o.perExperiment);
  const locations = new Map((await db.all('SELECT experiment_id, artifact_location FROM experiments')).map((r) => [Number(r.experiment_id), String(r.artifact_location)]));
  const t = await readTemplate(db, templateRun, locations);
  const chunk = o.chunk ?? 2000;
  for (let start = o.from; start < o.to; start += chunk) {
    const rows = { runs: [] as Row[], tags: [] as Row[], params: [] as Row[], metrics: [] as Row[], latest_metrics: [] as Row[] };
    for (let g = start; g < Math.min(o.to, start + chunk); g++) {
      const want = searchRun(g, o.perExperiment);
      const experimentId = Number(o.experimentIds[want.experimentIndex]);
      const location = locations.get(experimentId);
      if (location === undefined) throw new Error(`bulk load: experiment ${experimentId} is not in MLflow's experiments table`);
      const r = runRows(t, want, templateRun.name, experimentId, location, randomUUID().replace(/-/g, ''));
      rows.runs.push(r.run);
      rows.tags.push(...r.tags);
      rows.params.push(...r.params);
      rows.metrics.push(...r.metrics);
      rows.latest_metrics.push(...r.latest);
    }
    // Short transactions: MLflow's own processes keep using the database meanwhile.
    await db.transaction(async () => {
      for (const [table, list] of Object.entries(rows)) await db.insert(table, list);
    });
  }
}

/**
 * Inserts steps `from`..`to - 1` of the long series into MLflow's metrics table for `runId` (whose
 * earlier steps came through the API) and moves its latest value to the last step, as log-batch does.
 */
export async function bulkLoadHistory(db: BulkDatabase, o: { runId: string; from: number; to: number; chunk?: number }): Promise<void> {
  if (o.to <= o.from) return;
  const first = await db.all('SELECT * FROM metrics WHERE run_uuid = ? AND key = ? AND step = ?', [o.runId, HISTORY_KEY, 0]);
  const template = first[0];
  const p0 = historyPoint(0);
  if (first.length !== 1 || !template || !sameNumber(template.value, p0.value) || !sameNumber(template.timestamp, p0.timestamp)) {
    throw new Error(`bulk load: step 0 of ${HISTORY_KEY} of run ${o.runId} is not the API-seeded point of bench/seed-data.ts`);
  }
  const latest = await db.all('SELECT * FROM latest_metrics WHERE run_uuid = ? AND key = ?', [o.runId, HISTORY_KEY]);
  if (latest.length !== 1 || !sameNumber(latest[0]?.step, o.from - 1)) throw new Error(`bulk load: the latest ${HISTORY_KEY} of run ${o.runId} is not step ${o.from - 1}`);
  const chunk = o.chunk ?? 50_000;
  for (let start = o.from; start < o.to; start += chunk) {
    const rows: Row[] = [];
    for (let step = start; step < Math.min(o.to, start + chunk); step++) {
      const p = historyPoint(step);
      rows.push({ ...template, value: p.value, timestamp: p.timestamp, step: p.step });
    }
    await db.transaction(() => db.insert('metrics', rows));
  }
  // Steps only grow, so the last one is the latest (log-batch keeps the highest step).
  const last = historyPoint(o.to - 1);
  await db.run('UPDATE latest_metrics SET value = ?, timestamp = ?, step = ? WHERE run_uuid = ? AND key = ?', [last.value, last.timestamp, last.step, o.runId, HISTORY_KEY]);
}

/**
 * PostgreSQL only: refreshes the planner statistics of the tables just loaded. Seeded through the
 * API for minutes, they would have been analyzed by autovacuum along the way; loaded in seconds,
 * they would be analyzed a minute later, in the middle of a measured round.
 */
export async function analyzeLoaded(db: BulkDatabase): Promise<void> {
  if (db.dialect === 'postgres') await db.run('ANALYZE runs, tags, params, metrics, latest_metrics');
}
