import { randomBytes } from 'node:crypto';
import { registryArtifactRoot } from '../artifacts/artifact-scope.ts';
import { proxyPathFromArtifactUri } from '../artifacts/artifact-path.ts';
import { fingerprint } from './fingerprint.ts';
import type { ImportPlan } from './import-plan.ts';
import { ImportPhase, PENDING, type ArtifactRootMapping, type ImportOptions } from './import-phase.ts';
import { forEachConcurrent } from './pool.ts';
import type { ImportReport } from './report.ts';
import type { MigrationSource, SourceModelVersion, SourceRegisteredModel } from './source.ts';
import type { RegistrySeen } from './missing-phase.ts';
import type { RegisteredModelRecord } from '../../store/registry-store.ts';

/** The model registry: registered models and their versions (numbers kept), tags, aliases, stages. */
export class RegistryPhase extends ImportPhase {
  /** @returns what the source's registry holds (undefined when it could not be read) */
  async importRegistry(source: MigrationSource, plan: ImportPlan, options: ImportOptions, report: ImportReport, roots: ArtifactRootMapping[]): Promise<RegistrySeen | undefined> {
    const modelState = await this.targets.imports.listState(source.key, 'registered-model');
    const versionState = await this.targets.imports.listState(source.key, 'model-version');
    const models: SourceRegisteredModel[] = [];
    try {
      for await (const m of source.registeredModels()) models.push(m);
    } catch (error) {
      report.warn(`The model registry could not be read: ${(error as Error).message}`);
      return undefined;
    }
    const seen: RegistrySeen = { models: new Set(models.map((m) => m.name)), versions: new Map(), aliases: new Map(models.map((m) => [m.name, new Set(m.aliases.map((a) => a.alias))])) };
    if (models.length === 0) return seen;
    this.progress.phase('registered models', { items: models.length });
    // Longest roots first, so a logged model inside a run's folder maps to the logged model.
    const sortedRoots = [...roots].sort((a, b) => b.sourceRoot.length - a.sourceRoot.length);
    await forEachConcurrent(models, options.concurrency, async (model) => {
      try {
        const versions = await this.importRegisteredModel(source, model, plan, options, report, sortedRoots, modelState.has(model.name), versionState);
        seen.versions.set(model.name, new Set(versions.map((v) => v.version)));
      } catch (error) {
        report.fail('registered models', model.name, error);
        this.progress.note(`registered model '${model.name}' failed: ${(error as Error).message}`);
      } finally {
        this.progress.item();
      }
    });
    this.progress.endPhase();
    return seen;
  }

  /** @returns the model's versions at the source */
  private async importRegisteredModel(
    source: MigrationSource,
    model: SourceRegisteredModel,
    plan: ImportPlan,
    options: ImportOptions,
    report: ImportReport,
    roots: ArtifactRootMapping[],
    importedBefore: boolean,
    versionState: Map<string, { fingerprint: string }>,
  ): Promise<SourceModelVersion[]> {
    const { registry, imports } = this.targets;
    const versions = await source.modelVersions(model.name);
    const stamp = fingerprint({ model, versions });
    let existing = await registry.getRegisteredModel(options.projectId, model.name);
    if (existing && !importedBefore) {
      if (options.onConflict === 'skip') {
        report.count('registered models', 'skipped');
        report.conflicts.push({ name: `model ${model.name}`, resolution: 'skipped: the name is taken in Trove (--on-conflict skip)' });
        return [];
      }
      if (options.onConflict !== 'merge') {
        throw new Error(`a registered model named '${model.name}' already exists in Trove and was not imported from this source (use --on-conflict merge or skip)`);
      }
      report.conflicts.push({ name: `model ${model.name}`, resolution: 'merged into the existing registered model (--on-conflict merge)' });
    }
    const modelStamp = (await imports.listState(source.key, 'registered-model')).get(model.name)?.fingerprint;
    if (existing && modelStamp === stamp) {
      if (options.deleteMissing && importedBefore) await this.dropAliasesGoneAtSource(model, existing);
      report.count('registered models', 'unchanged');
      report.count('model versions', 'unchanged', versions.length);
      return versions;
    }
    let created = false;
    if (!existing) {
      await imports.putState(source.key, { kind: 'registered-model', sourceId: model.name, targetId: model.name, fingerprint: PENDING }, this.clock());
      await registry.createRegisteredModel({
        projectId: options.projectId,
        name: model.name,
        description: model.description,
        userId: model.userId,
        tags: model.tags,
        now: model.creationTimestamp,
      });
      existing = await registry.getRegisteredModel(options.projectId, model.name);
      if (!existing) throw new Error(`registered model '${model.name}' was not created`);
      created = true;
    } else {
      for (const tag of model.tags) await registry.setRegisteredModelTag(existing.pk, tag);
    }
    const modelPk = existing.pk;

    const sorted = [...versions].sort((a, b) => a.version - b.version);
    for (const version of sorted) {
      const key = `${model.name}/${version.version}`;
      const versionStamp = fingerprint(version);
      try {
        if (versionState.get(key)?.fingerprint === versionStamp && (await registry.getModelVersion(modelPk, version.version))) {
          report.count('model versions', 'unchanged');
          continue;
        }
        const had = await registry.getModelVersion(modelPk, version.version);
        if (had && !versionState.has(key)) throw new Error(`version ${version.version} of '${model.name}' already exists in Trove and was not imported from this source`);
        if (!had) await imports.putState(source.key, { kind: 'model-version', sourceId: key, targetId: key, fingerprint: PENDING }, this.clock());
        const storageLocation = had ? had.storageLocation : await this.versionStorage(version, modelPk, options, roots, report);
        const versionPk = await imports.upsertModelVersion({
          modelPk,
          version: version.version,
          creationTimestamp: version.creationTimestamp,
          lastUpdatedTimestamp: version.lastUpdatedTimestamp,
          userId: version.userId,
          currentStage: version.currentStage,
          description: version.description,
          source: this.translateSource(version.source, plan, roots),
          storageLocation,
          runId: version.runId ? (plan.runIdMap.get(version.runId) ?? version.runId) : null,
          runLink: version.runLink,
          status: version.status,
          statusMessage: version.statusMessage,
          modelId: version.modelId,
        });
        for (const tag of version.tags) await registry.setModelVersionTag(versionPk, tag);
        await imports.putState(source.key, { kind: 'model-version', sourceId: key, targetId: key, fingerprint: versionStamp }, this.clock());
        report.count('model versions', had ? 'updated' : 'created');
      } catch (error) {
        report.fail('model versions', key, error);
      }
    }
    for (const alias of model.aliases) {
      if (await registry.getModelVersion(modelPk, alias.version)) await registry.setAlias(modelPk, alias.alias, alias.version);
      else report.fail('model versions', `${model.name}@${alias.alias}`, new Error(`alias points at version ${alias.version}, which was not imported`));
    }
    if (options.deleteMissing && importedBefore) await this.dropAliasesGoneAtSource(model, existing);
    await imports.setRegisteredModelFields(modelPk, {
      creationTimestamp: model.creationTimestamp,
      lastUpdatedTimestamp: model.lastUpdatedTimestamp,
      userId: model.userId,
      description: model.description,
    });
    await imports.putState(source.key, { kind: 'registered-model', sourceId: model.name, targetId: model.name, fingerprint: stamp }, this.clock());
    report.count('registered models', created ? 'created' : 'updated');
    return versions;
  }

  /** Aliases of a model imported from this source before that the source no longer has (--delete-missing). */
  private async dropAliasesGoneAtSource(model: SourceRegisteredModel, existing: RegisteredModelRecord): Promise<void> {
    const kept = new Set(model.aliases.map((a) => a.alias));
    for (const alias of existing.aliases) if (!kept.has(alias.alias)) await this.targets.registry.deleteAlias(existing.pk, alias.alias);
  }

  /**
   * Where an imported version's files live in Trove: its files at the source are found below an
   * imported run's or logged model's root and frozen into the registry's read-only copy, as a
   * version registered in Trove would be. A source outside everything imported (an s3:// bucket
   * the source server never served) is kept as it is, with a warning.
   */
  private async versionStorage(version: SourceModelVersion, modelPk: number, options: ImportOptions, roots: ArtifactRootMapping[], report: ImportReport): Promise<string> {
    const location = version.storageLocation ?? version.source;
    let mapped = mapThroughRoots(location, roots) ?? this.locationFromUri(version.source, roots);
    if (mapped !== undefined && !(await this.hasFiles(mapped))) {
      // MLflow 3 keeps a model logged in a run under the logged model, not the run's folder.
      const logged = this.loggedModelRootFor(version, roots);
      if (logged) mapped = logged;
    }
    if (mapped === undefined) {
      report.warn(`Model version ${version.name}/${version.version}: its files at ${location} are not below any imported run or logged model; the version keeps pointing there.`);
      return location;
    }
    const from = proxyPathFromArtifactUri(mapped);
    if (options.skipArtifacts || from === undefined || from === '') return mapped;
    if ((await this.targets.artifacts.list(from)).length === 0) return mapped;
    const to = `${registryArtifactRoot(options.projectId)}/${modelPk}/${randomBytes(16).toString('hex')}`;
    await this.targets.artifacts.copyPrefix(from, to);
    return `mlflow-artifacts:/${to}`;
  }

  private async hasFiles(location: string): Promise<boolean> {
    const path = proxyPathFromArtifactUri(location);
    if (path === undefined || path === '') return true;
    return (await this.targets.artifacts.list(path)).length > 0;
  }

  /** The imported logged model a version was registered from: by its model id, or by run and name. */
  private loggedModelRootFor(version: SourceModelVersion, roots: ArtifactRootMapping[]): string | undefined {
    if (version.modelId) {
      const byId = roots.find((r) => r.id === version.modelId && r.loggedModel);
      if (byId) return byId.targetRoot;
    }
    const runs = /^runs:\/([^/]+)\/([^/]+)\/?$/.exec(version.source);
    if (!runs) return undefined;
    return roots.find((r) => r.loggedModel?.sourceRunId === runs[1] && r.loggedModel?.name === runs[2])?.targetRoot;
  }

  /** `runs:/<id>/<path>` and `models:/<model id>` sources, resolved to the imported files. */
  private locationFromUri(uri: string, roots: ArtifactRootMapping[]): string | undefined {
    const runs = /^runs:\/([^/]+)\/?(.*)$/.exec(uri);
    const models = /^models:\/(m-[^/]+)\/?$/.exec(uri);
    const id = runs?.[1] ?? models?.[1];
    const root = id === undefined ? undefined : roots.find((r) => r.id === id);
    if (!root) return undefined;
    const path = runs?.[2] ?? '';
    return path === '' ? root.targetRoot : `${root.targetRoot.replace(/\/+$/, '')}/${path.replace(/\/+$/, '')}`;
  }

  /** A source given as a location the import moved (`mlflow-artifacts:/<exp>/<run>/...`) points at the new place. */
  private translateSource(sourceUri: string, plan: ImportPlan, roots: ArtifactRootMapping[]): string {
    const runs = /^runs:\/([^/]+)(\/.*)?$/.exec(sourceUri);
    if (runs) {
      const mapped = plan.runIdMap.get(runs[1]!);
      return mapped ? `runs:/${mapped}${runs[2] ?? ''}` : sourceUri;
    }
    if (/^(runs|models):/.test(sourceUri)) return sourceUri;
    return mapThroughRoots(sourceUri, roots) ?? sourceUri;
  }
}

/** The location below a target root that corresponds to `location` below a source root. */
function mapThroughRoots(location: string, roots: ArtifactRootMapping[]): string | undefined {
  const trimmed = location.replace(/\/+$/, '');
  for (const { sourceRoot, targetRoot } of roots) {
    const root = sourceRoot.replace(/\/+$/, '');
    if (trimmed === root) return targetRoot;
    if (trimmed.startsWith(`${root}/`)) return `${targetRoot.replace(/\/+$/, '')}${trimmed.slice(root.length)}`;
  }
  return undefined;
}
