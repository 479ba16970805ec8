import { MlflowError } from '../errors.ts';
import type { ModelVersionRecord } from '../../store/registry-store.ts';
import {
  LATEST_ALIAS,
  parseVersion,
  validateAliasName,
  validateModelName,
  validateNewAliasName,
} from './validation.ts';
import { RegistryModels } from './registry-models.ts';
import { highestVersion } from './registry-base.ts';

/** Aliases: a name per model pointing at one version. */
export class RegistryAliases extends RegistryModels {
  /**
   * Points an alias at a version (creating or moving it).
   * @throws MlflowError INVALID_PARAMETER_VALUE for a bad or reserved alias or version;
   *   RESOURCE_DOES_NOT_EXIST for an unknown model or version
   */
  async setAlias(name: unknown, alias: unknown, version: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const aliasName = validateNewAliasName(alias);
    const number = parseVersion(version);
    const model = await this.requireModel(modelName);
    await this.requireVersion(model, number);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      const previous = await store.setAlias(model.pk, aliasName, number);
      emit('model_version_alias', 'created', model.name, {
        name: model.name,
        alias: aliasName,
        version: String(number),
        ...(previous !== undefined && previous !== number ? { previous_version: String(previous) } : {}),
        ...this.promptOf(model),
      }, now);
    });
  }

  /** Deleting an alias the model does not have succeeds, as upstream. */
  async deleteAlias(name: unknown, alias: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const aliasName = validateAliasName(alias);
    const model = await this.requireModel(modelName);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      if ((await store.deleteAlias(model.pk, aliasName)) !== undefined) {
        emit('model_version_alias', 'deleted', model.name, { name: model.name, alias: aliasName, ...this.promptOf(model) }, now);
      }
    });
  }

  /**
   * The version an alias points at; `latest` (any case) is the highest version.
   * @throws MlflowError INVALID_PARAMETER_VALUE "Registered model alias X not found." (400, not
   *   404: the client relies on it)
   */
  async getVersionByAlias(name: unknown, alias: unknown): Promise<ModelVersionRecord> {
    const modelName = validateModelName(name);
    const aliasName = validateAliasName(alias);
    const model = await this.requireModel(modelName);
    if (aliasName.toLowerCase() === LATEST_ALIAS) {
      const highest = highestVersion(model.latestVersions);
      if (!highest) throw MlflowError.notFound(`Latest version not found for model ${modelName}.`);
      return highest;
    }
    const version = await this.store.getAlias(model.pk, aliasName);
    if (version === undefined) throw MlflowError.invalidParameter(`Registered model alias ${aliasName} not found.`);
    return this.requireVersion(model, version);
  }
}
