import { decodePageToken, encodePageToken } from '../page-token.ts';
import { parseModelVersionFilter, parseModelVersionOrderBy } from '../search/index.ts';
import type { SearchPage } from '../tracking/tracking-service.ts';
import { registryArtifactRoot } from '../artifacts/artifact-scope.ts';
import type { KeyValue } from '../../store/tracking-store.ts';
import type { ModelVersionRecord } from '../../store/registry-store.ts';
import {
  applyPromptRule,
  isPromptTagged,
  parseVersion,
  REGISTRY_LIMITS,
  validateModelName,
  validateRegistryMaxResults,
  validateTag,
  validateTagKey,
} from './validation.ts';
import { RegistrySources } from './registry-sources.ts';
import { checkSourcePath } from './source-uri.ts';
import {
  VERSION_LABEL_TAG,
  missingSource,
  lastTagValue,
  proxyPathOrUndefined,
  type CreateModelVersionInput,
} from './registry-base.ts';

/** Model versions: create, read, describe, delete, search, download URI, tags. */
export class RegistryVersions extends RegistrySources {
  /**
   * Creates the next version of a model from a source: `models:/m-<id>` (a logged model),
   * `models:/<name>/<version|stage|latest>` or `models:/<name>@<alias>` (another registered
   * version), `runs:/<run_id>/<path>` (a run's artifacts, or its logged model of that name),
   * `mlflow-artifacts:/...`, or any other URI (stored as given). Files the artifact proxy serves
   * are copied into a registry-owned folder first and served from there ever after.
   *
   * @throws MlflowError INVALID_PARAMETER_VALUE for bad input or a source that does not match
   *   run_id / model_id; RESOURCE_DOES_NOT_EXIST for an unknown model
   */
  async createModelVersion(input: CreateModelVersionInput): Promise<ModelVersionRecord> {
    const name = validateModelName(input.name);
    if (typeof input.source !== 'string' || input.source === '') throw missingSource();
    const tags = (input.tags ?? []).map(validateTag);
    const model = await this.requireModel(name);
    await this.checkVersionLabel(model, lastTagValue(tags, VERSION_LABEL_TAG));
    // A prompt version's source is a placeholder, not files: MLflow checks no lineage for it.
    const prompt = isPromptTagged(tags) || isPromptTagged(model.tags);
    if (prompt) checkSourcePath(input.source);
    const resolved = prompt
      ? { source: input.source, location: input.source, runId: input.runId || null }
      : await this.resolveSource(input.source, input.runId || null, input.modelId || null, false);
    const created = await this.createVersion(model, resolved, { tags, description: input.description ?? null, runLink: input.runLink || null });
    // As MLflow's server does when the request names the logged model.
    if (input.modelId && created.modelId) await this.recordRegistrationOnLoggedModel(created);
    return created;
  }

  /** @throws MlflowError RESOURCE_DOES_NOT_EXIST "Model Version (name=X, version=N) not found" */
  async getModelVersion(name: unknown, version: unknown): Promise<ModelVersionRecord> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    return this.requireVersion(await this.requireModel(modelName), number);
  }

  /** Sets a version's description (absent clears it, as upstream). */
  async updateModelVersion(name: unknown, version: unknown, description: string | undefined): Promise<ModelVersionRecord> {
    const current = await this.getModelVersion(name, version);
    const now = this.clock.now();
    return this.change(async (store, emit) => {
      await store.updateModelVersion(current.pk, { description: description ?? null, now });
      emit('model_version', 'updated', current.name, {
        name: current.name,
        version: String(current.version),
        description: description ?? null,
      }, now);
      return this.requireVersionIn(store, current.modelPk, current.name, current.version);
    });
  }

  /**
   * Deletes a version: its number stays taken, its aliases go, and so does its frozen copy.
   */
  async deleteModelVersion(name: unknown, version: unknown): Promise<void> {
    const current = await this.getModelVersion(name, version);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      const removedAliases = await store.deleteModelVersion(current.pk, now);
      for (const alias of removedAliases) emit('model_version_alias', 'deleted', current.name, { name: current.name, alias }, now);
      emit('model_version', 'deleted', current.name, { name: current.name, version: String(current.version) }, now);
    });
    const frozen = proxyPathOrUndefined(current.storageLocation);
    if (frozen?.startsWith(`${registryArtifactRoot(this.projectId)}/${current.modelPk}/`)) await this.deleteFrozenFiles(frozen);
  }

  /** `model-versions/search`: default 10000 per page, at most 200000; prompt versions excluded unless asked for. */
  async searchModelVersions(input: {
    filter?: string | undefined;
    maxResults?: number | undefined;
    orderBy?: string[] | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<ModelVersionRecord>> {
    const maxResults = input.maxResults ?? REGISTRY_LIMITS.searchVersionsDefault;
    validateRegistryMaxResults(maxResults, REGISTRY_LIMITS.searchVersionsMax);
    const { clauses, excludePrompts } = applyPromptRule(parseModelVersionFilter(input.filter));
    const orderBy = parseModelVersionOrderBy(input.orderBy);
    const page = await this.store.searchModelVersions({
      projectId: this.projectId,
      filter: clauses,
      excludePrompts,
      orderBy,
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  /** Where the version's files are served from: its frozen copy, or its source. */
  async getDownloadUri(name: unknown, version: unknown): Promise<string> {
    return (await this.getModelVersion(name, version)).storageLocation;
  }

  /**
   * Sets a version tag. The label tag `trove.version_label` must be unique among the model's
   * live versions.
   */
  async setModelVersionTag(name: unknown, version: unknown, tag: KeyValue): Promise<void> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    const valid = validateTag(tag);
    const model = await this.requireModel(modelName);
    const current = await this.requireVersion(model, number);
    if (valid.key === VERSION_LABEL_TAG) await this.checkVersionLabel(model, valid.value, number);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      await store.setModelVersionTag(current.pk, valid);
      emit('model_version_tag', 'set', model.name, {
        name: model.name,
        version: String(number),
        key: valid.key,
        value: valid.value,
        ...this.promptOf(model),
      }, now);
    });
  }

  /** Deleting a tag the version does not have succeeds, as upstream. */
  async deleteModelVersionTag(name: unknown, version: unknown, key: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const number = parseVersion(version);
    const validKey = validateTagKey(key);
    const model = await this.requireModel(modelName);
    const current = await this.requireVersion(model, number);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      if (await store.deleteModelVersionTag(current.pk, validKey)) {
        emit('model_version_tag', 'deleted', model.name, { name: model.name, version: String(number), key: validKey, ...this.promptOf(model) }, now);
      }
    });
  }
}
