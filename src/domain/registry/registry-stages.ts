import { MlflowError } from '../errors.ts';
import type { ModelVersionRecord } from '../../store/registry-store.ts';
import { ACTIVE_STAGES, canonicalStage, parseVersion, validateModelName } from './validation.ts';
import { RegistryVersions } from './registry-versions.ts';

/** Stages (MLflow's deprecated lifecycle): transitions and the latest version per stage. */
export class RegistryStages extends RegistryVersions {
  /**
   * For each requested stage (every stage, `None` included, when none is requested) the model's
   * highest version in that stage.
   */
  async getLatestVersions(name: unknown, stages: string[] = []): Promise<ModelVersionRecord[]> {
    const model = await this.requireModel(validateModelName(name));
    const wanted = new Set<string>(stages.map(canonicalStage));
    const latest = wanted.size === 0 ? model.latestVersions : model.latestVersions.filter((v) => wanted.has(v.currentStage));
    return [...latest].sort((a, b) => a.version - b.version);
  }

  /**
   * Moves a version to a stage (case-insensitive); with `archiveExisting`, the model's other
   * versions in that stage (Staging or Production only) move to Archived.
   */
  async transitionStage(name: unknown, version: unknown, stage: string, archiveExisting: boolean): Promise<ModelVersionRecord> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    const target = canonicalStage(stage);
    if (archiveExisting && !ACTIVE_STAGES.includes(target)) {
      throw MlflowError.invalidParameter(
        `Model version transition cannot archive existing model versions because '${stage}' is not an Active stage. Valid stages are ['Staging', 'Production']`,
      );
    }
    const model = await this.requireModel(modelName);
    const current = await this.requireVersion(model, number);
    const now = this.clock.now();
    return this.change(async (store, emit) => {
      const archived = archiveExisting ? await store.archiveVersionsInStage(model.pk, target, number, now) : [];
      await store.setModelVersionStage(current.pk, target, now);
      await store.touchRegisteredModel(model.pk, now);
      for (const other of archived) {
        emit('model_version', 'updated', model.name, { name: model.name, version: String(other), current_stage: 'Archived', previous_stage: target }, now);
      }
      emit('model_version', 'updated', model.name, {
        name: model.name,
        version: String(number),
        current_stage: target,
        previous_stage: current.currentStage,
      }, now);
      return this.requireVersionIn(store, model.pk, model.name, number);
    });
  }}
