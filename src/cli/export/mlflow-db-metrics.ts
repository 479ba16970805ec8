import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { MetricRecord } from '../../store/tracking-store.ts';
import {
  HISTORY_SQL,
  type MetricRow,
  metricFromRow,
  MLFLOW_MAX_DOUBLE,
  openMlflowPgPool,
  openMlflowSqlite,
  openRefusing,
  parseMlflowDbUri,
  sqliteHistorySql,
  toSqlite,
} from '../mlflow-db.ts';

/**
 * `trove export --to <MLflow server> --target-db <its database>`: the metric histories, nearly all
 * of the data, written straight into the target server's own `metrics` table instead of through
 * its log-batch endpoint (bounded at some 10,000 points/s by the server); everything else still
 * goes through the REST API.
 *
 * A run's points are written in short transactions of up to {@link POINTS_PER_TRANSACTION} points
 * (several metrics of the run each: a commit costs the target's disk a flush, ~20 ms here, so one
 * per metric would cost more than the rows), each holding, per metric in it, its points (a point
 * the table already holds, same primary key, is skipped as MLflow skips it) and the run's
 * `latest_metrics` row for the key, kept as MLflow keeps it — the point with the greatest (step,
 * timestamp, value) wins, compared on the stored value (a NaN as 0, an infinity as ±the largest
 * double), and a tie keeps the row already there. A kill leaves whole transactions only, each
 * with the latest rows of its points.
 */

/** What the export needs of the target server's database. */
export interface MlflowMetricsTarget {
  readonly description: string;
  /** Which of these run ids the `runs` table lacks (the database is not the target server's). */
  missingRuns(runIds: string[]): Promise<string[]>;
  /** Every point of one metric of a run, as MLflow's API would answer it (NaN; infinities as ±the largest double). */
  history(runId: string, key: string): Promise<MetricRecord[]>;
  /** A run's points, metric by metric, buffered into transactions: {@link RunPointsWriter}. */
  runWriter(runId: string): RunPointsWriter;
  /** Writes points of one metric of a run with its latest_metrics row (a writer of its own, flushed); returns how many rows were new. */
  write(runId: string, key: string, points: MetricRecord[]): Promise<number>;
  close(): Promise<void>;
}

/**
 * The points of one run, added metric by metric: whenever {@link POINTS_PER_TRANSACTION} are
 * buffered they are committed (a metric may span two transactions, each with its latest row);
 * `flush` commits the rest. Each returns how many rows its commits added.
 */
export interface RunPointsWriter {
  add(key: string, points: MetricRecord[]): Promise<number>;
  flush(): Promise<number>;
}

/**
 * Points per transaction: a run of 20 metrics × 1,000 steps in one, some 100 ms of the target's
 * write lock, so the server's own writes wait that long at most.
 */
export const POINTS_PER_TRANSACTION = 20_000;

const REQUIRED = {
  runs: ['run_uuid'],
  metrics: ['run_uuid', 'key', 'value', 'timestamp', 'step', 'is_nan'],
  latest_metrics: ['run_uuid', 'key', 'value', 'timestamp', 'step', 'is_nan'],
} as const;

/** A point as MLflow stores it. */
interface StoredPoint {
  value: number;
  timestamp: number;
  step: number;
  isNan: boolean;
}

/** MLflow's stored form of a value: NaN as 0 with is_nan, ±infinity as ±the largest double. */
export function storedPoint(p: MetricRecord): StoredPoint {
  if (Number.isNaN(p.value)) return { value: 0, timestamp: p.timestamp, step: p.step, isNan: true };
  const value = p.value === Infinity ? MLFLOW_MAX_DOUBLE : p.value === -Infinity ? -MLFLOW_MAX_DOUBLE : p.value;
  return { value, timestamp: p.timestamp, step: p.step, isNan: false };
}

/** The point of a batch MLflow would make latest: the greatest (step, timestamp, stored value); the first of equals. */
export function latestOf(points: StoredPoint[]): StoredPoint | undefined {
  let best: StoredPoint | undefined;
  for (const p of points) {
    if (!best || p.step > best.step || (p.step === best.step && (p.timestamp > best.timestamp || (p.timestamp === best.timestamp && p.value > best.value)))) best = p;
  }
  return best;
}

const INSERT_POINT = 'INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING';
/** Inserts the run's latest row for a key, or replaces it when the new point is strictly later. */
const UPSERT_LATEST =
  'INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) VALUES ($1, $2, $3, $4, $5, $6) ' +
  'ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan ' +
  'WHERE (excluded.step, excluded.timestamp, excluded.value) > (latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)';
const RUN_SQL = 'SELECT 1 AS found FROM runs WHERE run_uuid = $1';

/**
 * Opens the database of a `--target-db` URI read-write and checks it has the tables and columns
 * the writes need (naming what it lacks). Any failure is a refusal: nothing was written yet.
 */
export async function openMlflowMetricsTarget(uri: string, connections = 4): Promise<MlflowMetricsTarget> {
  const parsed = parseMlflowDbUri(uri, '--target-db');
  return openRefusing<MlflowMetricsTarget>('--target-db', parsed.description, () =>
    parsed.dialect === 'sqlite' ? SqliteMetricsTarget.open(parsed.file, parsed.description) : PostgresMetricsTarget.open(parsed.connectionString, parsed.description, connections),
  );
}

/** One metric's points in a transaction. */
interface Group {
  key: string;
  points: StoredPoint[];
}

type Commit = (runId: string, groups: Group[]) => Promise<number>;

class BufferedRunWriter implements RunPointsWriter {
  private groups: Group[] = [];
  private size = 0;

  constructor(
    private readonly runId: string,
    private readonly commit: Commit,
  ) {}

  async add(key: string, points: MetricRecord[]): Promise<number> {
    let inserted = 0;
    const stored = points.map(storedPoint);
    for (let i = 0; i < stored.length; ) {
      const part = stored.slice(i, i + POINTS_PER_TRANSACTION - this.size);
      this.groups.push({ key, points: part });
      this.size += part.length;
      i += part.length;
      if (this.size >= POINTS_PER_TRANSACTION) inserted += await this.flush();
    }
    return inserted;
  }

  async flush(): Promise<number> {
    if (this.groups.length === 0) return 0;
    const groups = this.groups;
    this.groups = [];
    this.size = 0;
    return this.commit(this.runId, groups);
  }
}

async function writeOne(target: MlflowMetricsTarget, runId: string, key: string, points: MetricRecord[]): Promise<number> {
  const writer = target.runWriter(runId);
  return (await writer.add(key, points)) + (await writer.flush());
}

/**
 * The target's SQLite file, read-write, with the server's 4 workers writing too: every batch is
 * one `BEGIN IMMEDIATE` transaction (the write lock taken first, so it never has to be upgraded
 * midway), waiting up to the busy timeout for it; the journal mode is left as the server set it.
 */
export class SqliteMetricsTarget implements MlflowMetricsTarget {
  private readonly insertPoint: BetterSqlite3.Statement<[string, number, number, number, number, string]>;
  private readonly upsertLatest: BetterSqlite3.Statement<[string, number, number, number, number, string]>;
  private readonly historyStatement: BetterSqlite3.Statement<[string, string], MetricRow>;
  private readonly runStatement: BetterSqlite3.Statement<[string], { found: number }>;
  private readonly writeGroups: (runId: string, groups: Group[]) => number;

  private constructor(
    readonly description: string,
    private readonly db: BetterSqlite3.Database,
  ) {
    this.insertPoint = db.prepare(toSqlite(INSERT_POINT));
    this.upsertLatest = db.prepare(toSqlite(UPSERT_LATEST));
    this.historyStatement = db.prepare(sqliteHistorySql(db));
    this.runStatement = db.prepare(toSqlite(RUN_SQL));
    const transaction = db.transaction((runId: string, groups: Group[]) => {
      let inserted = 0;
      for (const { key, points } of groups) {
        for (const p of points) inserted += this.insertPoint.run(key, p.value, p.timestamp, p.step, p.isNan ? 1 : 0, runId).changes;
        const latest = latestOf(points);
        if (latest) this.upsertLatest.run(key, latest.value, latest.timestamp, latest.step, latest.isNan ? 1 : 0, runId);
      }
      return inserted;
    });
    this.writeGroups = (runId, groups) => transaction.immediate(runId, groups);
  }

  static async open(file: string, description: string): Promise<SqliteMetricsTarget> {
    const db = await openMlflowSqlite(file, { readonly: false, required: REQUIRED });
    return new SqliteMetricsTarget(description, db);
  }

  async missingRuns(runIds: string[]): Promise<string[]> {
    return runIds.filter((id) => this.runStatement.get(id) === undefined);
  }

  async history(runId: string, key: string): Promise<MetricRecord[]> {
    return this.historyStatement.all(runId, key).map((row) => metricFromRow(key, row));
  }

  runWriter(runId: string): RunPointsWriter {
    return new BufferedRunWriter(runId, async (id, groups) => {
      const inserted = this.writeGroups(id, groups);
      // Lets the event loop (progress, other runs' requests) in between transactions.
      await new Promise((resolve) => setImmediate(resolve));
      return inserted;
    });
  }

  write(runId: string, key: string, points: MetricRecord[]): Promise<number> {
    return writeOne(this, runId, key, points);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * The target's PostgreSQL database through node-postgres: a few connections; each transaction
 * holds two statements per metric in it, its points sent as arrays (`unnest`) in one
 * parameterised insert, then its latest row upserted. The statements are named (prepared once
 * per connection).
 */
export class PostgresMetricsTarget implements MlflowMetricsTarget {
  private constructor(
    readonly description: string,
    readonly pool: pg.Pool,
  ) {}

  static async open(connectionString: string, description: string, connections: number): Promise<PostgresMetricsTarget> {
    const pool = await openMlflowPgPool(connectionString, { readOnly: false, connections, required: REQUIRED });
    try {
      // Planned, not run: the tables' keys must be the ones the writes name (ON CONFLICT (key, run_uuid)).
      await pool.query(`EXPLAIN ${UPSERT_LATEST}`, ['', 0, 0, 0, false, '']);
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
    return new PostgresMetricsTarget(description, pool);
  }

  async missingRuns(runIds: string[]): Promise<string[]> {
    if (runIds.length === 0) return [];
    const found = await this.pool.query<{ run_uuid: string }>({ name: 'trove_target_runs', text: 'SELECT run_uuid FROM runs WHERE run_uuid = ANY($1::text[])', values: [runIds] });
    const there = new Set(found.rows.map((r) => r.run_uuid));
    return runIds.filter((id) => !there.has(id));
  }

  async history(runId: string, key: string): Promise<MetricRecord[]> {
    const result = await this.pool.query<MetricRow>({ name: 'trove_target_history', text: HISTORY_SQL, values: [runId, key] });
    return result.rows.map((row) => metricFromRow(key, row));
  }

  runWriter(runId: string): RunPointsWriter {
    return new BufferedRunWriter(runId, (id, groups) => this.commit(id, groups));
  }

  write(runId: string, key: string, points: MetricRecord[]): Promise<number> {
    return writeOne(this, runId, key, points);
  }

  private async commit(runId: string, groups: Group[]): Promise<number> {
    let inserted = 0;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      for (const { key, points } of groups) {
        const done = await client.query({
          name: 'trove_target_points',
          text:
            'INSERT INTO metrics (key, value, timestamp, step, is_nan, run_uuid) ' +
            'SELECT $1, u.value, u.timestamp, u.step, u.is_nan, $2 FROM unnest($3::float8[], $4::int8[], $5::int8[], $6::bool[]) AS u(value, timestamp, step, is_nan) ' +
            'ON CONFLICT DO NOTHING',
          values: [key, runId, points.map((p) => p.value), points.map((p) => p.timestamp), points.map((p) => p.step), points.map((p) => p.isNan)],
        });
        inserted += done.rowCount ?? 0;
        const latest = latestOf(points)!;
        await client.query({ name: 'trove_target_latest', text: UPSERT_LATEST, values: [key, latest.value, latest.timestamp, latest.step, latest.isNan, runId] });
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
    return inserted;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
