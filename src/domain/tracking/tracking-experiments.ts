import { isAbsolute, resolve } from 'node:path';
import { MlflowError } from '../errors.ts';
import { decodePageToken, encodePageToken } from '../page-token.ts';
import { parseExperimentFilter, parseExperimentOrderBy } from '../search/index.ts';
import type { ExperimentRecord, KeyValue, TrackingStore, ViewType } from '../../store/tracking-store.ts';
import { UniqueViolationError } from '../../store/store-errors.ts';
import { currentProjectId } from '../request-context.ts';
import { checkProxiedLocation } from '../artifacts/artifact-scope.ts';
import {
  LIMITS,
  validateExperimentName,
  validateLength,
  validateSearchMaxResults,
  validateTagKey,
} from './validation.ts';
import { TrackingBase, experimentExists, type SearchPage } from './tracking-base.ts';

/** Experiments: create, read, search, rename, delete/restore, tags. */
export class TrackingExperiments extends TrackingBase {
  async createExperiment(input: { name: unknown; artifactLocation?: string | undefined; tags?: KeyValue[] | undefined }): Promise<string> {
    const name = validateExperimentName(input.name);
    const tags = input.tags ?? [];
    for (const tag of tags) this.validateExperimentTag(tag);
    let artifactLocation: string | null = null;
    if (input.artifactLocation !== undefined && input.artifactLocation !== '') {
      artifactLocation = validateArtifactLocation(input.artifactLocation);
      checkProxiedLocation(artifactLocation);
    }
    const projectId = currentProjectId();
    const existing = await this.store.getExperimentByName(projectId, name);
    if (existing) throw experimentExists(name);
    try {
      return await this.audited(
        (tx) =>
          tx.createExperiment({
            projectId,
            name,
            artifactLocation,
            artifactLocationFor: (id) => this.artifactLocationFor(id, projectId),
            tags,
            now: this.clock.now(),
          }),
        (id) => ({ action: 'experiment.create', entityType: 'experiment', entityId: id, details: { name } }),
      );
    } catch (error) {
      if (error instanceof UniqueViolationError) throw experimentExists(name);
      throw error;
    }
  }

  async getExperiment(experimentId: string): Promise<ExperimentRecord> {
    const experiment = await this.store.getExperiment(await this.resolveExperimentId(experimentId));
    if (!experiment || experiment.projectId !== currentProjectId()) throw MlflowError.notFound(`No Experiment with id=${experimentId} exists`);
    this.rememberProject(experiment);
    return experiment;
  }

  async getExperimentByName(name: string): Promise<ExperimentRecord> {
    const experiment = await this.store.getExperimentByName(currentProjectId(), name);
    if (!experiment) throw MlflowError.notFound(`Could not find experiment with name '${name}'`);
    return experiment;
  }

  async searchExperiments(input: {
    maxResults?: number | undefined;
    pageToken?: string | undefined;
    filter?: string | undefined;
    orderBy?: string[] | undefined;
    viewType?: ViewType | undefined;
  }): Promise<SearchPage<ExperimentRecord>> {
    const maxResults = input.maxResults ?? LIMITS.searchDefaultResults;
    validateSearchMaxResults(maxResults);
    const filter = parseExperimentFilter(input.filter);
    const orderBy = parseExperimentOrderBy(input.orderBy);
    const page = await this.store.searchExperiments({
      projectId: currentProjectId(),
      filter,
      orderBy,
      viewType: input.viewType ?? 'ACTIVE_ONLY',
      maxResults,
      page: decodePageToken(input.pageToken),
    });
    return page.next ? { items: page.items, nextPageToken: encodePageToken(page.next) } : { items: page.items };
  }

  async deleteExperiment(experimentId: string): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.notFound(`Cannot delete non-active experiment with id=${experimentId}`);
    }
    await this.audited(
      (tx) => tx.setExperimentLifecycle(experiment.experimentId, 'deleted', this.clock.now()),
      () => ({ action: 'experiment.delete', entityType: 'experiment', entityId: experiment.experimentId, details: { name: experiment.name } }),
    );
  }

  async restoreExperiment(experimentId: string): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    if (experiment.lifecycleStage !== 'deleted') {
      throw MlflowError.notFound(`Cannot restore an active experiment with id=${experimentId}`);
    }
    await this.audited(
      (tx) => tx.setExperimentLifecycle(experiment.experimentId, 'active', this.clock.now()),
      () => ({ action: 'experiment.restore', entityType: 'experiment', entityId: experiment.experimentId, details: { name: experiment.name } }),
    );
  }

  async renameExperiment(experimentId: string, newName: unknown): Promise<void> {
    const experiment = await this.getExperiment(experimentId);
    if (newName === undefined || newName === null || newName === '') return;
    const name = validateExperimentName(newName);
    if (experiment.lifecycleStage !== 'active') {
      throw MlflowError.invalidParameter('Cannot rename a non-active experiment.');
    }
    if (name === experiment.name) return;
    const clash = await this.store.getExperimentByName(experiment.projectId, name);
    if (clash) throw experimentExists(name);
    try {
      await this.audited(
        (tx) => tx.renameExperiment(experiment.experimentId, name, this.clock.now()),
        () => ({ action: 'experiment.rename', entityType: 'experiment', entityId: experiment.experimentId, details: { name, previous_name: experiment.name } }),
      );
    } catch (error) {
      if (error instanceof UniqueViolationError) throw experimentExists(name);
      throw error;
    }
  }

  async setExperimentTag(experimentId: string, tag: KeyValue): Promise<void> {
    this.validateExperimentTag(tag);
    const experiment = await this.activeExperiment(experimentId);
    await this.audited(
      (tx) => tx.setExperimentTag(experiment.experimentId, tag),
      () => ({ action: 'experiment.set_tag', entityType: 'experiment', entityId: experiment.experimentId, details: { key: tag.key } }),
    );
  }

  async deleteExperimentTag(experimentId: string, key: string): Promise<void> {
    const experiment = await this.activeExperiment(experimentId);
    const deleted = await this.audited(
      (tx) => tx.deleteExperimentTag(experiment.experimentId, key),
      () => ({ action: 'experiment.delete_tag', entityType: 'experiment', entityId: experiment.experimentId, details: { key } }),
    );
    if (!deleted) throw MlflowError.notFound(`No tag with name: ${key} in experiment with id ${experimentId}`);
  }

  protected validateExperimentTag(tag: KeyValue): void {
    validateTagKey(tag.key);
    validateLength(tag.value, LIMITS.experimentTagValue, 'value');
  }

  protected async activeExperiment(experimentId: string): Promise<ExperimentRecord> {
    const experiment = await this.getExperiment(experimentId);
    assertActiveExperiment(experimentId, experiment);
    return experiment;
  }

  /**
   * activeExperiment without its tags, through `store` (a transactional one, so on SQLite the read
   * joins the write's group commit), for an id already resolved by resolveExperimentId (which may write).
   */
  protected async activeExperimentIn(store: TrackingStore, experimentId: string, storedExperimentId: string): Promise<Omit<ExperimentRecord, 'tags'>> {
    const experiment = await store.getExperimentInfo(storedExperimentId);
    if (!experiment || experiment.projectId !== currentProjectId()) throw MlflowError.notFound(`No Experiment with id=${experimentId} exists`);
    this.rememberProject(experiment);
    assertActiveExperiment(experimentId, experiment);
    return experiment;
  }
}

function assertActiveExperiment(experimentId: string, experiment: { lifecycleStage: string }): void {
  if (experiment.lifecycleStage !== 'active') {
    throw MlflowError.invalidParameter(
      `The experiment ${experimentId} must be in the 'active' state. Current state is ${experiment.lifecycleStage}.`,
    );
  }
}

function validateArtifactLocation(location: string): string {
  validateLength(location, LIMITS.artifactLocation, 'artifact_location');
  if (location.startsWith('runs:')) {
    throw MlflowError.invalidParameter(`Artifact location cannot be a runs:/ URI. Given: '${location}'`);
  }
  if (location.split(/[\\/]/).includes('..')) {
    throw MlflowError.invalidParameter(`Artifact location must not contain path traversal ('..'). Given: '${location}'`);
  }
  // A relative local path means one under the server's working directory, as in MLflow.
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(location)?.[1];
  if ((scheme === undefined || scheme.length === 1) && !isAbsolute(location)) return resolve(location);
  return location;
}
