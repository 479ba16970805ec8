import type { DatasetInputRecord } from '../tracking-store.ts';
import { toIntId } from './sql-tracking-base.ts';
import { SqlRunsStore } from './sql-runs-store.ts';

/** A run's dataset and model inputs, its model outputs, and the dataset search. */
export abstract class SqlInputsOutputsStore extends SqlRunsStore {
  async logDatasetInputs(runPk: number, experimentId: string, inputs: DatasetInputRecord[]): Promise<void> {
    await this.transaction(async (store) => {
      const db = this.dbOf(store);
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
}
