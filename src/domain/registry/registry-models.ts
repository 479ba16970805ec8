import { decodePageToken, encodePageToken } from '../page-token.ts';
import { signedInUsername } from '../request-context.ts';
import { parseRegisteredModelFilter, parseRegisteredModelOrderBy } from '../search/index.ts';
import type { SearchPage } from '../tracking/tracking-service.ts';
import { registryArtifactRoot } from '../artifacts/artifact-scope.ts';
import type { KeyValue } from '../../store/tracking-store.ts';
import type { RegisteredModelRecord } from '../../store/registry-store.ts';
import { UniqueViolationError } from '../../store/store-errors.ts';
import {
  applyPromptRule,
  isPromptTagged,
  REGISTRY_LIMITS,
  validateModelName,
  validateRegistryMaxResults,
  validateTag,
  validateTagKey,
} from './validation.ts';
import { RegistryBase, modelExists, tagMap, promptFlag } from './registry-base.ts';

/** Registered models: create, read, rename, describe, delete, search, tags. */
export class RegistryModels extends RegistryBase {
  /**
   * Creates a registered model and, unless it is a prompt, its `[model]<name>` experiment.
   * @throws MlflowError INVALID_PARAMETER_VALUE for a bad name or tag; RESOURCE_ALREADY_EXISTS
   */
  async createRegisteredModel(input: { name: unknown; tags?: KeyValue[] | undefined; description?: string | undefined }): Promise<RegisteredModelRecord> {
    const name = validateModelName(input.name);
    const tags = (input.tags ?? []).map(validateTag);
    const isPrompt = isPromptTagged(tags);
    const existing = await this.store.getRegisteredModel(this.projectId, name);
    if (existing) throw modelExists(name, isPromptTagged(existing.tags), isPrompt);
    // The experiment first: it is idempotent, so a model never exists without it.
    if (!isPrompt) await this.ensureModelExperiment(name);
    const now = this.clock.now();
    try {
      return await this.change(async (store, emit) => {
        await store.createRegisteredModel({ projectId: this.projectId, name, description: input.description ?? null, userId: signedInUsername(), tags, now });
        emit('registered_model', 'created', name, { name, tags: tagMap(tags), description: input.description ?? null, ...promptFlag(isPrompt) }, now);
        return this.requireModel(name, store);
      });
    } catch (error) {
      if (error instanceof UniqueViolationError) throw modelExists(name, false, isPrompt);
      throw error;
    }
  }

  /** @throws MlflowError RESOURCE_DOES_NOT_EXIST "Registered Model with name=X not found" */
  async getRegisteredModel(name: unknown): Promise<RegisteredModelRecord> {
    return this.requireModel(validateModelName(name));
  }

  /**
   * Renames a model; versions, tags and aliases follow, and so does its `[model]` experiment.
   * @throws MlflowError RESOURCE_ALREADY_EXISTS when the new name is taken
   */
  async renameRegisteredModel(name: unknown, newName: unknown): Promise<RegisteredModelRecord> {
    const oldName = validateModelName(name);
    const target = validateModelName(newName, 'new_name');
    const model = await this.requireModel(oldName);
    if (target === oldName) return model;
    if (await this.store.getRegisteredModel(this.projectId, target)) throw modelExists(target, false, false);
    const now = this.clock.now();
    let renamed: RegisteredModelRecord;
    try {
      renamed = await this.change(async (store, emit) => {
        await store.renameRegisteredModel(model.pk, target, now);
        emit('registered_model', 'updated', target, { name: target, previous_name: oldName, ...promptFlag(isPromptTagged(model.tags)) }, now);
        return this.requireModel(target, store);
      });
    } catch (error) {
      if (error instanceof UniqueViolationError) throw modelExists(target, false, false);
      throw error;
    }
    await this.renameModelExperiment(oldName, target);
    return renamed;
  }

  /** Sets the description (absent clears it). */
  async updateRegisteredModel(name: unknown, description: string | undefined): Promise<RegisteredModelRecord> {
    const model = await this.requireModel(validateModelName(name));
    const now = this.clock.now();
    return this.change(async (store, emit) => {
      await store.updateRegisteredModel(model.pk, { description: description ?? null, now });
      emit('registered_model', 'updated', model.name, { name: model.name, description: description ?? null, ...this.promptOf(model) }, now);
      return this.requireModel(model.name, store);
    });
  }

  /**
   * Deletes a model with all its versions, tags and aliases, and the frozen copies of its
   * versions' files. Its `[model]` experiment and runs stay: they are tracking data.
   */
  async deleteRegisteredModel(name: unknown): Promise<void> {
    const model = await this.requireModel(validateModelName(name));
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      await store.deleteRegisteredModel(model.pk);
      emit('registered_model', 'deleted', model.name, { name: model.name, ...this.promptOf(model) }, now);
    });
    await this.deleteFrozenFiles(`${registryArtifactRoot(this.projectId)}/${model.pk}`);
  }

  /** `registered-models/search`: default 100 per page, at most 1000; prompts excluded unless asked for. */
  async searchRegisteredModels(input: {
    filter?: string | undefined;
    maxResults?: number | undefined;
    orderBy?: string[] | undefined;
    pageToken?: string | undefined;
  }): Promise<SearchPage<RegisteredModelRecord>> {
    const maxResults = input.maxResults ?? REGISTRY_LIMITS.searchModelsDefault;
    validateRegistryMaxResults(maxResults, REGISTRY_LIMITS.searchModelsMax);
    const { clauses, excludePrompts } = applyPromptRule(parseRegisteredModelFilter(input.filter));
    const orderBy = parseRegisteredModelOrderBy(input.orderBy);
    const page = await this.store.searchRegisteredModels({
      projectId: this.projectId,
      filter: clauses,
      excludePrompts,
      orderBy,
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  async setRegisteredModelTag(name: unknown, tag: KeyValue): Promise<void> {
    const modelName = validateModelName(name);
    const valid = validateTag(tag);
    const model = await this.requireModel(modelName);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      await store.setRegisteredModelTag(model.pk, valid);
      emit('registered_model', 'updated', model.name, { name: model.name, tag: { key: valid.key, value: valid.value }, ...this.promptOf(model) }, now);
    });
  }

  /** Deleting a tag the model does not have succeeds, as upstream. */
  async deleteRegisteredModelTag(name: unknown, key: unknown): Promise<void> {
    const modelName = validateModelName(name);
    const validKey = validateTagKey(key);
    const model = await this.requireModel(modelName);
    const now = this.clock.now();
    await this.change(async (store, emit) => {
      if (await store.deleteRegisteredModelTag(model.pk, validKey)) {
        emit('registered_model', 'updated', model.name, { name: model.name, deleted_tag: validKey, ...this.promptOf(model) }, now);
      }
    });
  }
}
