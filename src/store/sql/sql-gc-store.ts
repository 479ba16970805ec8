import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { AuthStoreTables } from './auth-schema.ts';

type GcDb = Kysely<Database & Pick<AuthStoreTables, 'audit_log'>>;

export interface PurgeCandidate {
  kind: 'run' | 'experiment' | 'logged_model' | 'trace';
  /** The public id (run uuid, experiment id, model id, trace id). */
  id: string;
  /** Proxied artifact location to delete with it (artifact_uri), when it has one. */
  artifactUri: string | null;
}

/**
 * Permanent deletion for `trove gc`: finds entities in the deleted state older than a cutoff and
 * removes them with every row that hangs off them, one entity per transaction, so an interrupted
 * gc leaves nothing half-deleted.
 */
export class SqlGcStore {
  private readonly db: GcDb;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as GcDb;
  }

  /** Deleted experiments whose deletion is older than `before` (ms), optionally only these ids. */
  async deletedExperiments(before: number, ids?: readonly string[]): Promise<PurgeCandidate[]> {
    let query = this.db.selectFrom('experiments').select(['experiment_id', 'artifact_location']).where('lifecycle_stage', '=', 'deleted').where('deleted_time', '<', before);
    if (ids && ids.length > 0) query = query.where('experiment_id', 'in', ids.map(Number));
    const rows = await query.orderBy('experiment_id').execute();
    return rows.map((r) => ({ kind: 'experiment', id: String(r.experiment_id), artifactUri: r.artifact_location }));
  }

  /** Deleted runs (of live or deleted experiments) deleted before `before`. */
  async deletedRuns(before: number, ids?: readonly string[]): Promise<PurgeCandidate[]> {
    let query = this.db.selectFrom('runs').select(['run_uuid', 'artifact_uri']).where('lifecycle_stage', '=', 'deleted').where('deleted_time', '<', before);
    if (ids && ids.length > 0) query = query.where('run_uuid', 'in', [...ids]);
    const rows = await query.orderBy('id').execute();
    return rows.map((r) => ({ kind: 'run', id: r.run_uuid, artifactUri: r.artifact_uri }));
  }

  /** Deleted logged models last changed before `before`. */
  async deletedLoggedModels(before: number): Promise<PurgeCandidate[]> {
    const rows = await this.db
      .selectFrom('logged_models')
      .select(['model_id', 'artifact_uri'])
      .where('lifecycle_stage', '=', 'deleted')
      .where('last_updated_timestamp', '<', before)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ kind: 'logged_model', id: r.model_id, artifactUri: r.artifact_uri }));
  }

  /** Runs, logged models and traces of an experiment (they go with it). */
  async contentsOfExperiment(experimentId: string): Promise<PurgeCandidate[]> {
    const id = Number(experimentId);
    const runs = await this.db.selectFrom('runs').select(['run_uuid', 'artifact_uri']).where('experiment_id', '=', id).execute();
    const models = await this.db.selectFrom('logged_models').select(['model_id', 'artifact_uri']).where('experiment_id', '=', id).execute();
    const traces = await this.db.selectFrom('traces').select(['trace_id']).where('experiment_id', '=', id).execute();
    return [
      ...runs.map((r): PurgeCandidate => ({ kind: 'run', id: r.run_uuid, artifactUri: r.artifact_uri })),
      ...models.map((m): PurgeCandidate => ({ kind: 'logged_model', id: m.model_id, artifactUri: m.artifact_uri })),
      ...traces.map((t): PurgeCandidate => ({ kind: 'trace', id: t.trace_id, artifactUri: null })),
    ];
  }

  /** Rows that would go with a run (for --dry-run counts): metrics, params, tags. */
  async runRowCounts(runUuid: string): Promise<number> {
    const run = await this.db.selectFrom('runs').select('id').where('run_uuid', '=', runUuid).executeTakeFirst();
    if (!run) return 0;
    let total = 0;
    for (const table of ['metrics', 'params', 'run_tags', 'latest_metrics'] as const) {
      const row = await this.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('run_id', '=', run.id).executeTakeFirst();
      total += Number(row?.n ?? 0);
    }
    return total;
  }

  async purgeRun(runUuid: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const run = await tx.selectFrom('runs').select('id').where('run_uuid', '=', runUuid).executeTakeFirst();
      if (!run) return;
      for (const table of ['metrics', 'metric_rollups', 'latest_metrics', 'params', 'run_tags', 'run_input_tags', 'run_inputs', 'run_model_inputs', 'run_model_outputs'] as const) {
        await tx.deleteFrom(table).where('run_id', '=', run.id).execute();
      }
      await tx.deleteFrom('trace_run_links').where('run_id', '=', runUuid).execute();
      await tx.deleteFrom('runs').where('id', '=', run.id).execute();
    });
  }

  async purgeLoggedModel(modelId: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const model = await tx.selectFrom('logged_models').select('id').where('model_id', '=', modelId).executeTakeFirst();
      if (!model) return;
      for (const table of ['logged_model_params', 'logged_model_tags', 'logged_model_metrics'] as const) {
        await tx.deleteFrom(table).where('model_pk', '=', model.id).execute();
      }
      await tx.deleteFrom('logged_models').where('id', '=', model.id).execute();
    });
  }

  async purgeTrace(traceId: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      for (const table of ['trace_tags', 'trace_metadata', 'spans', 'assessments', 'trace_run_links'] as const) {
        await tx.deleteFrom(table).where('trace_id', '=', traceId).execute();
      }
      await tx.deleteFrom('traces').where('trace_id', '=', traceId).execute();
    });
  }

  /** The experiment's own rows; its runs, models and traces must be purged first. */
  async purgeExperiment(experimentId: string): Promise<void> {
    const id = Number(experimentId);
    await this.db.transaction().execute(async (tx) => {
      const datasets = await tx.selectFrom('datasets').select('id').where('experiment_id', '=', id).execute();
      if (datasets.length > 0) {
        const ids = datasets.map((d) => d.id);
        await tx.deleteFrom('run_input_tags').where('dataset_id', 'in', ids).execute();
        await tx.deleteFrom('run_inputs').where('dataset_id', 'in', ids).execute();
        await tx.deleteFrom('datasets').where('id', 'in', ids).execute();
      }
      await tx.deleteFrom('experiment_tags').where('experiment_id', '=', id).execute();
      await tx.deleteFrom('experiments').where('experiment_id', '=', id).execute();
    });
  }

  /** Every run uuid the database knows, in any state (for the orphan sweep). */
  async allRunUuids(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('runs').select('run_uuid').execute();
    return new Set(rows.map((r) => r.run_uuid));
  }

  async allExperimentIds(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('experiments').select('experiment_id').execute();
    return new Set(rows.map((r) => String(r.experiment_id)));
  }

  /** Audit entries older than `before`; deleted unless `dryRun`. */
  async pruneAudit(before: number, dryRun: boolean): Promise<number> {
    const row = await this.db.selectFrom('audit_log').select((eb) => eb.fn.countAll<number>().as('n')).where('time', '<', before).executeTakeFirst();
    const count = Number(row?.n ?? 0);
    if (!dryRun && count > 0) await this.db.deleteFrom('audit_log').where('time', '<', before).execute();
    return count;
  }
}
