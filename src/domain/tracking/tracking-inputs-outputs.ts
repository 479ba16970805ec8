import { MlflowError } from '../errors.ts';
import type { DatasetInputRecord } from '../../store/tracking-store.ts';
import { LIMITS, validateLength } from './validation.ts';
import { TrackingMetricHistory } from './tracking-metric-history.ts';

/** A run's inputs (datasets, models) and outputs (models), and the dataset search. */
export class TrackingInputsOutputs extends TrackingMetricHistory {
  async logInputs(input: { runId: string; datasets: DatasetInputRecord[]; modelIds: string[] }): Promise<void> {
    if (input.datasets.length > LIMITS.datasetsPerRequest) {
      throw MlflowError.invalidParameter(
        `Exceeded the maximum number of datasets per request: ${input.datasets.length} > ${LIMITS.datasetsPerRequest}.`,
      );
    }
    for (const entry of input.datasets) validateDatasetInput(entry);
    const info = await this.activeRun(input.runId);
    await this.store.transaction(async (store) => {
      if (input.datasets.length > 0) await store.logDatasetInputs(info.pk, info.experimentId, input.datasets);
      if (input.modelIds.length > 0) await store.logModelInputs(info.pk, input.modelIds);
      await this.audit.record(store, {
        action: 'run.log_inputs',
        entityType: 'run',
        entityId: info.runId,
        details: { datasets: input.datasets.length, models: input.modelIds.length },
      });
    });
  }

  async logOutputs(input: { runId: string; models: Array<{ modelId: string; step: number }> }): Promise<void> {
    const info = await this.activeRun(input.runId);
    await this.audited(
      (tx) => tx.logModelOutputs(info.pk, input.models),
      () => ({ action: 'run.log_outputs', entityType: 'run', entityId: info.runId, details: { models: input.models.length } }),
    );
  }

  async searchDatasets(experimentIds: string[]): Promise<Array<{ experimentId: string; name: string; digest: string; context: string | null }>> {
    if (experimentIds.length === 0) {
      throw MlflowError.invalidParameter('SearchDatasets request must specify at least one experiment_id.');
    }
    if (experimentIds.length > 20) {
      throw MlflowError.invalidParameter(`SearchDatasets request cannot specify more than 20 experiment_ids. Received ${experimentIds.length} experiment_ids.`);
    }
    return this.store.searchDatasets(await this.experimentIdsInProject(experimentIds));
  }
}

function validateDatasetInput(entry: DatasetInputRecord): void {
  const d = entry.dataset;
  validateLength(d.name, LIMITS.datasetName, 'dataset.name');
  validateLength(d.digest, LIMITS.datasetDigest, 'dataset.digest');
  validateLength(d.source, LIMITS.datasetSource, 'dataset.source');
  if (d.schema !== null) validateLength(d.schema, LIMITS.datasetSchema, 'dataset.schema');
  if (d.profile !== null) validateLength(d.profile, LIMITS.datasetProfile, 'dataset.profile');
  for (const tag of entry.tags) {
    validateLength(tag.key, LIMITS.inputTagKey, 'input tag key');
    validateLength(tag.value, LIMITS.inputTagValue, 'input tag value');
  }
}
