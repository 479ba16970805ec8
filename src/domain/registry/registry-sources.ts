import { randomBytes } from 'node:crypto';
import { resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowError } from '../errors.ts';
import { signedInUsername } from '../request-context.ts';
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
      // MLflow registers `runs:/<id>/...` for a run it does not know when run_id names the same
      // run; such a version has no files to serve. A run of another project is still refused.
      if (runId && (await this.tracking.isUnknownRun(parsed.runId))) {
        if (requireFiles) throw invalidSource(source, 'run_id');
        return { source, location: source, runId: parsed.runId };
      }
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

    if (isLocalSource(source, scheme)) {
      // A path on the server's disk only names a run's own files (MLflow's rule): run_id must be
      // given and the run's artifact location must be local and contain the path. A path inside
      // another project's storage reads as missing first, as for mlflow-artifacts:/ sources.
      checkServerStorageSource(source);
      const path = resolve(localPathOf(source));
      if (runId) {
        const run = await this.runFor(source, runId);
        const root = isLocalSource(run.info.artifactUri, uriScheme(run.info.artifactUri)) ? resolve(localPathOf(run.info.artifactUri)) : undefined;
        if (root !== undefined && (path === root || path.startsWith(`${root}${sep}`))) {
          return { source, location: source, runId, ...(givenModel ? { loggedModel: givenModel } : {}) };
        }
      }
      throw MlflowError.invalidParameter(
        `Invalid model version source: '${runId ? path : source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`,
      );
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
          userId: signedInUsername(),
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
      const entry = { name: version.name, version: version.version };
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
      const already = list.some((e) => isRecord(e) && e.name === entry.name && String(e.version) === String(entry.version));
      if (!already) list.push(entry);
      await this.tracking.setLoggedModelTags(version.modelId, [{ key: MODEL_VERSIONS_TAG, value: pythonJson(list) }]);
    } catch {
      // The link back is informative only; the version exists either way.
    }
  }
}

/** A plain path, or a `file:` URI on this machine (no host, or localhost): MLflow's is_local_uri. */
function isLocalSource(uri: string, scheme: string): boolean {
  if (scheme === '') return true;
  if (scheme !== 'file') return false;
  const host = /^file:\/\/([^/]*)/i.exec(uri)?.[1] ?? '';
  return host === '' || host === '.' || host.startsWith('localhost') || host.startsWith('127.0.0.1');
}

function localPathOf(uri: string): string {
  if (!/^file:/i.test(uri)) return uri;
  try {
    return fileURLToPath(uri.replace(/^file:\/\/(localhost|127\.0\.0\.1)[^/]*/i, 'file://'));
  } catch {
    return uri.replace(/^file:(\/\/)?/i, '');
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * JSON as Python's `json.dumps` writes it (", " and ": " separators, non-ASCII escaped): the
 * `mlflow.modelVersions` tag is compared as text by clients, so it must read as MLflow's does.
 */
export function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (isRecord(value)) return `{${Object.entries(value).map(([k, v]) => `${pythonJson(k)}: ${pythonJson(v)}`).join(', ')}}`;
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (value === undefined) return 'null';
  return JSON.stringify(value);
}
