import { randomBytes } from 'node:crypto';
import { MlflowError } from '../errors.ts';
import { normalizeArtifactPath } from '../artifacts/artifact-path.ts';
import { checkProxyPath, checkServerStorageSource, registryArtifactRoot } from '../artifacts/artifact-scope.ts';
import type { KeyValue, LoggedModelRecord, RunRecord } from '../../store/tracking-store.ts';
import type { ModelVersionRecord, RegisteredModelRecord } from '../../store/registry-store.ts';
import {
  checkSourcePath,
  invalidSource,
  parseModelsUri,
  parseRunsUri,
  uriScheme,
} from './source-uri.ts';
import { canonicalStage, validateModelName, type Stage } from './validation.ts';
import { RegistryAliases } from './registry-aliases.ts';
import {
  MODEL_VERSIONS_TAG,
  READY,
  highestVersion,
  tagMap,
  proxyPathOrUndefined,
  quoteFilterValue,
  type ResolvedSource,
} from './registry-base.ts';

/** Where a version's files come from: source URIs checked against run and logged model, frozen copies. */
export class RegistrySources extends RegistryAliases {
  /**
   * Works out where a source's files are, checking it against `run_id` / `model_id`.
   *
   * @param requireFiles for promotion: a run without files at the path and without a logged
   *   model of that name is an error rather than an empty version
   */
  protected async resolveSource(source: string, runId: string | null, modelId: string | null, requireFiles: boolean): Promise<ResolvedSource> {
    checkSourcePath(source);
    const scheme = uriScheme(source);
    const givenModel = modelId ? await this.loggedModelFor(source, modelId) : undefined;

    if (scheme === 'models') {
      const parsed = parseModelsUri(source);
      if (parsed.kind === 'logged-model') {
        if (modelId && modelId !== parsed.modelId) throw invalidSource(source, 'model_id');
        const logged = givenModel ?? (await this.loggedModelFor(source, parsed.modelId));
        return { source, location: logged.artifactUri, runId: runId ?? logged.sourceRunId, loggedModel: logged };
      }
      // Another registered version: its files are already frozen; copy them again so every
      // registry copy belongs to exactly one version.
      const referenced = await this.resolveModelsUri(parsed);
      return {
        source: `models:/${referenced.name}/${referenced.version}`,
        location: referenced.storageLocation,
        runId: runId ?? referenced.runId,
        ...(givenModel ? { loggedModel: givenModel } : {}),
      };
    }

    if (scheme === 'runs') {
      const parsed = parseRunsUri(source);
      // A run's files are not a logged model's: upstream refuses this combination too.
      if (givenModel) throw invalidSource(source, 'model_id');
      if (runId && runId !== parsed.runId) throw invalidSource(source, 'run_id');
      const run = await this.runFor(source, parsed.runId);
      const path = normalizeArtifactPath(parsed.path, { directory: true, allowRoot: true });
      const location = path === '' ? run.info.artifactUri : `${run.info.artifactUri.replace(/\/+$/, '')}/${path}`;
      if (await this.hasProxiedFiles(location)) return { source, location, runId: parsed.runId };
      // MLflow 3's log_model stores the files under a logged model named like the path.
      const logged = path === '' ? undefined : await this.loggedModelOfRun(run, path);
      if (logged) return { source, location: logged.artifactUri, runId: parsed.runId, loggedModel: logged };
      if (requireFiles) {
        throw MlflowError.invalidParameter(`Run '${parsed.runId}' has no artifacts at '${path}' and no logged model named '${path}'.`);
      }
      return { source, location, runId: parsed.runId };
    }

    if (scheme === 'mlflow-artifacts') {
      const path = proxyPathOrUndefined(source);
      if (path === undefined) throw invalidSource(source, 'run_id');
      checkProxyPath(path, 'read');
      if (runId) await this.runFor(source, runId);
    }
    checkServerStorageSource(source);
    return { source, location: source, runId: runId ?? givenModel?.sourceRunId ?? null, ...(givenModel ? { loggedModel: givenModel } : {}) };
  }

  protected async resolveModelsUri(parsed: Exclude<ReturnType<typeof parseModelsUri>, { kind: 'logged-model' }>): Promise<ModelVersionRecord> {
    const model = await this.requireModel(validateModelName(parsed.name));
    switch (parsed.kind) {
      case 'version':
        return this.requireVersion(model, parsed.version);
      case 'latest': {
        const highest = highestVersion(model.latestVersions);
        if (!highest) throw MlflowError.notFound(`Latest version not found for model ${model.name}.`);
        return highest;
      }
      case 'stage': {
        const stage: Stage = canonicalStage(parsed.stage);
        const inStage = model.latestVersions.find((v) => v.currentStage === stage);
        if (!inStage) throw MlflowError.notFound(`No versions of model with name '${model.name}' and stage '${stage}' found`);
        return inStage;
      }
      case 'alias':
        return this.getVersionByAlias(model.name, parsed.alias);
    }
  }

  /** Copies proxied files into the registry, then creates the version row; nothing half-written. */
  protected async createVersion(
    model: RegisteredModelRecord,
    resolved: ResolvedSource,
    extra: { tags: KeyValue[]; description: string | null; runLink: string | null },
  ): Promise<ModelVersionRecord> {
    const frozen = await this.freeze(model, resolved.location);
    const now = this.clock.now();
    const logged = resolved.loggedModel;
    try {
      return await this.change(async (store, emit) => {
        // The model may have gone while the files were copied.
        const current = await this.requireModel(model.name, store);
        const created = await store.createModelVersion({
          modelPk: current.pk,
          source: resolved.source,
          storageLocation: frozen ?? resolved.location,
          runId: resolved.runId,
          runLink: extra.runLink,
          description: extra.description,
          userId: null,
          status: READY,
          stage: 'None',
          modelId: logged?.modelId ?? null,
          modelParams: logged?.params ?? [],
          modelMetrics: logged?.metrics ?? [],
          tags: extra.tags,
          now,
        });
        emit('model_version', 'created', current.name, {
          name: current.name,
          version: String(created.version),
          source: created.source,
          run_id: created.runId,
          tags: tagMap(created.tags),
          description: created.description,
          ...this.promptOf(current),
        }, now);
        return created;
      });
    } catch (error) {
      if (frozen) await this.deleteFrozenFiles(proxyPathOrUndefined(frozen));
      throw error;
    }
  }

  /**
   * Copies the files at a proxied location into `registry/<model pk>/<random id>`.
   * @returns the copy's URI, or undefined when the location is not served by our proxy or holds
   *   no folder of files (then the version references its source as given)
   */
  protected async freeze(model: RegisteredModelRecord, location: string): Promise<string | undefined> {
    const from = proxyPathOrUndefined(location);
    if (from === undefined || from === '') return undefined;
    // Only files of this project can be frozen into it (a source naming another project's path reads as missing).
    checkProxyPath(from, 'read');
    if ((await this.artifacts.list(from)).length === 0) return undefined;
    const to = `${registryArtifactRoot(this.projectId)}/${model.pk}/${randomBytes(16).toString('hex')}`;
    try {
      await this.artifacts.copyFolder(from, to);
    } catch (error) {
      await this.deleteFrozenFiles(to);
      throw error;
    }
    return `mlflow-artifacts:/${to}`;
  }

  protected async hasProxiedFiles(location: string): Promise<boolean> {
    const path = proxyPathOrUndefined(location);
    if (path === undefined || path === '') return false;
    return (await this.artifacts.list(path)).length > 0;
  }

  protected async loggedModelFor(source: string, modelId: string): Promise<LoggedModelRecord> {
    try {
      return await this.tracking.getLoggedModel(modelId);
    } catch (error) {
      if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') throw invalidSource(source, 'model_id');
      throw error;
    }
  }

  protected async runFor(source: string, runId: string): Promise<RunRecord> {
    try {
      return await this.tracking.getRun(runId);
    } catch (error) {
      if (error instanceof MlflowError && error.code === 'RESOURCE_DOES_NOT_EXIST') throw invalidSource(source, 'run_id');
      throw error;
    }
  }

  /** The run's logged model named `name` (the newest if several, as the client picks by step). */
  protected async loggedModelOfRun(run: RunRecord, name: string): Promise<LoggedModelRecord | undefined> {
    const quoted = quoteFilterValue(name);
    if (quoted === undefined) return undefined;
    const page = await this.tracking.searchLoggedModels({
      experimentIds: [run.info.experimentId],
      filter: `name = ${quoted} AND source_run_id = '${run.info.runId}'`,
      maxResults: 100,
    });
    if (page.items.length <= 1) return page.items[0];
    const stepOf = new Map(run.modelOutputs.map((o) => [o.modelId, o.step]));
    return [...page.items].sort((a, b) => (stepOf.get(b.modelId) ?? -1) - (stepOf.get(a.modelId) ?? -1))[0];
  }

  /** Appends the version to the logged model's `mlflow.modelVersions` tag, as the MLflow client does. */
  protected async recordRegistrationOnLoggedModel(version: ModelVersionRecord): Promise<void> {
    if (!version.modelId) return;
    try {
      const logged = await this.tracking.getLoggedModel(version.modelId);
      const entry = { name: version.name, version: String(version.version) };
      let list: unknown[] = [];
      const current = logged.tags.find((t) => t.key === MODEL_VERSIONS_TAG)?.value;
      if (current) {
        try {
          const parsed = JSON.parse(current) as unknown;
          if (Array.isArray(parsed)) list = parsed;
        } catch {
          list = [];
        }
      }
      list.push(entry);
      await this.tracking.setLoggedModelTags(version.modelId, [{ key: MODEL_VERSIONS_TAG, value: JSON.stringify(list) }]);
    } catch {
      // The link back is informative only; the version exists either way.
    }
  }
}
