import { MlflowError } from '../errors.ts';
import { normalizeArtifactPath } from '../artifacts/artifact-path.ts';
import type { StoreFilterClause, ViewType } from '../../store/tracking-store.ts';
import type { ModelVersionRecord } from '../../store/registry-store.ts';
import { REGISTRY_LIMITS, validateModelName, validateNewAliasName, validateTag } from './validation.ts';
import { RegistryStages } from './registry-stages.ts';
import {
  VERSION_LABEL_TAG,
  modelNotFound,
  lastTagValue,
  type PromoteRunInput,
  type CandidateRuns,
} from './registry-base.ts';

/** GitLab's model experiments: a model's candidate runs and promoting a run to the next version. */
export class RegistryModelExperiments extends RegistryStages {
  /**
   * The model's candidate runs: the runs of its `[model]<name>` experiment, newest first by
   * default, each with the versions already registered from it.
   */
  async listCandidateRuns(
    name: unknown,
    input: { filter?: string | undefined; orderBy?: string[] | undefined; maxResults?: number | undefined; pageToken?: string | undefined; viewType?: ViewType | undefined } = {},
  ): Promise<CandidateRuns> {
    const model = await this.requireModel(validateModelName(name));
    const experimentId = await this.modelExperimentId(model.name);
    if (experimentId === undefined) return { runs: [], versionsByRun: {} };
    const page = await this.tracking.searchRuns({
      experimentIds: [experimentId],
      filter: input.filter,
      orderBy: input.orderBy,
      maxResults: input.maxResults ?? 100,
      pageToken: input.pageToken,
      viewType: input.viewType,
    });
    const versionsByRun: Record<string, number[]> = {};
    const runIds = page.items.map((r) => r.info.runId);
    if (runIds.length > 0) {
      const filter: StoreFilterClause[] = [
        { entity: 'attribute', key: 'name', comparator: '=', value: model.name },
        { entity: 'attribute', key: 'run_id', comparator: 'IN', value: runIds },
      ];
      const versions = await this.store.searchModelVersions({
        projectId: this.projectId,
        filter,
        excludePrompts: false,
        orderBy: [{ entity: 'attribute', key: 'version_number', ascending: true }],
        maxResults: REGISTRY_LIMITS.searchVersionsMax,
        page: { offset: 0, snapshot: null },
      });
      for (const v of versions.items) if (v.runId) (versionsByRun[v.runId] ??= []).push(v.version);
    }
    return {
      experimentId,
      runs: page.items,
      ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}),
      versionsByRun,
    };
  }

  /**
   * Promotes a run to the next version of a model (the UI's Promote button): the source is
   * `runs:/<run>/<artifactPath>`, resolved to the run's files at that path, or, when there are
   * none, to the run's MLflow 3 logged model of that name. Optionally sets an alias and a label.
   *
   * @throws MlflowError RESOURCE_DOES_NOT_EXIST for an unknown run, or an unknown model when
   *   `createModelIfMissing` is off; INVALID_PARAMETER_VALUE when the run has no model at the path
   */
  async promoteRun(input: PromoteRunInput): Promise<ModelVersionRecord> {
    const name = validateModelName(input.modelName, 'model_name');
    const alias = input.alias === undefined || input.alias === '' ? undefined : validateNewAliasName(input.alias);
    const artifactPath = normalizeArtifactPath(input.artifactPath ?? 'model', { directory: true, allowRoot: true });
    const tags = (input.tags ?? []).map(validateTag);
    if (input.versionLabel !== undefined && input.versionLabel !== '') {
      tags.push(validateTag({ key: VERSION_LABEL_TAG, value: input.versionLabel }));
    }
    if (!input.runId) throw MlflowError.invalidParameter("Missing value for required parameter 'run_id'.");
    const run = await this.tracking.getRun(input.runId);
    const source = `runs:/${run.info.runId}${artifactPath === '' ? '' : `/${artifactPath}`}`;
    const resolved = await this.resolveSource(source, run.info.runId, null, true);

    let model = await this.store.getRegisteredModel(this.projectId, name);
    if (!model) {
      if (!input.createModelIfMissing) throw modelNotFound(name);
      try {
        model = await this.createRegisteredModel({ name });
      } catch (error) {
        // Created concurrently: promote into it.
        if (!(error instanceof MlflowError) || error.code !== 'RESOURCE_ALREADY_EXISTS') throw error;
        model = await this.requireModel(name);
      }
    }
    await this.checkVersionLabel(model, lastTagValue(tags, VERSION_LABEL_TAG));
    const created = await this.createVersion(model, resolved, { tags, description: input.description ?? null, runLink: null });
    if (created.modelId) await this.recordRegistrationOnLoggedModel(created);
    if (alias !== undefined) {
      await this.setAlias(model.name, alias, created.version);
      return this.requireVersion(model, created.version);
    }
    return created;
  }
}
