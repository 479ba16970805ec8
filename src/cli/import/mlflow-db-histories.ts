import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { MetricRecord } from '../../store/tracking-store.ts';
import type { ArtifactOwner, MigrationSource, OpenedArtifact, SourceArtifact, SourceExperiment, SourceLoggedModel, SourceModelVersion, SourceRegisteredModel, SourceRun, SourceTrace, SourceTracePage } from '../../domain/import/source.ts';
import {
  HISTORY_SQL,
  type MetricRow,
  metricFromRow,
  MlflowDbRefusedError,
  type MlflowDbUri,
  openMlflowPgPool,
  openMlflowSqlite,
  openRefusing,
  parseMlflowDbUri,
  sqliteHistorySql,
  toSqlite,
} from '../mlflow-db.ts';

/**
 * `trove import mlflow --source-db <uri>`: the metric histories, nearly all of a tracking server's
 * data, read straight from the MLflow server's own database (its `--backend-store-uri`) instead of
 * one `metrics/get-history` request per metric; everything else still comes through the REST API.
 * The database is only read: SQLite opened read-only (waiting for the server's writes), PostgreSQL
 * in read-only sessions. URI forms, opening and the row format are shared with `--target-db`
 * (src/cli/mlflow-db.ts).
 */

/** A `--source-db` URI understood: which database, and how to print it (password masked). */
export type SourceDbUri = MlflowDbUri;

/** {@link parseMlflowDbUri} for `--source-db`. */
export function parseSourceDbUri(uri: string): SourceDbUri {
  return parseMlflowDbUri(uri, '--source-db');
}

/** The two reads the import needs from an MLflow database. */
export interface MlflowMetricsDb {
  readonly description: string;
  /** Whether the `runs` table holds this run (the database belongs to the server being imported). */
  hasRun(runId: string): Promise<boolean>;
  /** Every point of one metric of a run. */
  history(runId: string, key: string): Promise<MetricRecord[]>;
  close(): Promise<void>;
}

const RUN_SQL = 'SELECT 1 AS found FROM runs WHERE run_uuid = $1';
const REQUIRED = { metrics: ['run_uuid', 'key', 'value', 'timestamp', 'step', 'is_nan'], runs: ['run_uuid'] } as const;

/**
 * Opens the database of a `--source-db` URI, read-only, and checks it has MLflow's tables. Any
 * failure is a refusal ({@link MlflowDbRefusedError}): nothing has been imported yet.
 */
export async function openMlflowMetricsDb(uri: string, connections = 4): Promise<MlflowMetricsDb> {
  const parsed = parseSourceDbUri(uri);
  return openRefusing<MlflowMetricsDb>('--source-db', parsed.description, () =>
    parsed.dialect === 'sqlite' ? SqliteMetricsDb.open(parsed.file, parsed.description) : PostgresMetricsDb.open(parsed.connectionString, parsed.description, connections),
  );
}

/**
 * MLflow's SQLite file, opened read-only: the server may still be writing, so a read waits for its
 * lock (busy timeout) instead of failing. Both statements are prepared once.
 */
export class SqliteMetricsDb implements MlflowMetricsDb {
  private constructor(
    readonly description: string,
    private readonly db: BetterSqlite3.Database,
    private readonly historyStatement: BetterSqlite3.Statement<[string, string], MetricRow>,
    private readonly runStatement: BetterSqlite3.Statement<[string], { found: number }>,
  ) {}

  static async open(file: string, description: string): Promise<SqliteMetricsDb> {
    const db = await openMlflowSqlite(file, { readonly: true, required: REQUIRED });
    return new SqliteMetricsDb(description, db, db.prepare<[string, string], MetricRow>(sqliteHistorySql(db)), db.prepare<[string], { found: number }>(toSqlite(RUN_SQL)));
  }

  /** The history query as prepared (which index it names). */
  get historySql(): string {
    return this.historyStatement.source;
  }

  async hasRun(runId: string): Promise<boolean> {
    return this.runStatement.get(runId) !== undefined;
  }

  async history(runId: string, key: string): Promise<MetricRecord[]> {
    return this.historyStatement.all(runId, key).map((row) => metricFromRow(key, row));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/**
 * MLflow's PostgreSQL database through the bundled node-postgres (loaded only here), a few
 * connections whose sessions are read-only (every transaction in them refuses to write). The
 * queries are named, so each connection prepares them once.
 */
export class PostgresMetricsDb implements MlflowMetricsDb {
  private constructor(
    readonly description: string,
    /** The connections (read-only sessions). */
    readonly pool: pg.Pool,
  ) {}

  static async open(connectionString: string, description: string, connections: number): Promise<PostgresMetricsDb> {
    const pool = await openMlflowPgPool(connectionString, { readOnly: true, connections, required: REQUIRED });
    return new PostgresMetricsDb(description, pool);
  }

  async hasRun(runId: string): Promise<boolean> {
    return (await this.pool.query({ name: 'trove_mlflow_run', text: RUN_SQL, values: [runId] })).rowCount !== 0;
  }

  async history(runId: string, key: string): Promise<MetricRecord[]> {
    const result = await this.pool.query<MetricRow>({ name: 'trove_mlflow_history', text: HISTORY_SQL, values: [runId, key] });
    return result.rows.map((row) => metricFromRow(key, row));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The REST source with its metric histories read from the server's database instead. Each run the
 * server lists is looked up in the database's `runs` table first: a database of another server
 * stops the import while it is planned, before anything is written.
 */
export class DbHistoriesSource implements MigrationSource {
  readonly description: string;
  readonly key: string;
  /** Ids checked against the database (the plan lists each run once; the check runs once per id). */
  private readonly checked = new Set<string>();

  constructor(
    private readonly rest: MigrationSource,
    private readonly db: MlflowMetricsDb,
  ) {
    this.description = `${rest.description}, metric histories read from its database ${db.description}`;
    // The same source as without --source-db: a mirror may switch between the two.
    this.key = rest.key;
    if (rest.traceIds && rest.trace) {
      const { traceIds, trace } = rest;
      this.traceIds = (experimentId, pageToken) => traceIds.call(rest, experimentId, pageToken);
      this.trace = (traceId) => trace.call(rest, traceId);
    }
  }

  traceIds?: (experimentId: string, pageToken: string | undefined) => Promise<SourceTracePage>;
  trace?: (traceId: string) => Promise<SourceTrace>;

  get warnings(): string[] {
    return this.rest.warnings;
  }

  experiments(): AsyncIterable<SourceExperiment> {
    return this.rest.experiments();
  }

  async *runs(experimentId: string): AsyncIterable<SourceRun> {
    for await (const run of this.rest.runs(experimentId)) {
      const id = run.info.runId;
      if (!this.checked.has(id)) {
        if (!(await this.db.hasRun(id))) {
          throw new MlflowDbRefusedError(
            `Run ${id} of ${this.rest.description} is not in the database ${this.db.description}: --source-db must be that server's own --backend-store-uri. Nothing was imported.`,
          );
        }
        this.checked.add(id);
      }
      yield run;
    }
  }

  metricHistory(runId: string, key: string): Promise<MetricRecord[]> {
    return this.db.history(runId, key);
  }

  loggedModels(experimentIds: string[]): AsyncIterable<SourceLoggedModel> {
    return this.rest.loggedModels(experimentIds);
  }

  registeredModels(): AsyncIterable<SourceRegisteredModel> {
    return this.rest.registeredModels();
  }

  modelVersions(modelName: string): Promise<SourceModelVersion[]> {
    return this.rest.modelVersions(modelName);
  }

  listArtifacts(root: string, owner: ArtifactOwner): AsyncIterable<SourceArtifact> {
    return this.rest.listArtifacts(root, owner);
  }

  openArtifact(root: string, owner: ArtifactOwner, relative: string): Promise<OpenedArtifact> {
    return this.rest.openArtifact(root, owner, relative);
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } finally {
      await this.rest.close();
    }
  }
}
