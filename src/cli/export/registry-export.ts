import { forEachConcurrent } from '../../domain/import/pool.ts';
import type { MigrationSource, SourceModelVersion, SourceRegisteredModel } from '../../domain/import/source.ts';
import type { KeyValue } from '../../store/tracking-store.ts';
import { modelVersionFromWire, registeredModelFromWire, type WireModelVersion, type WireRegisteredModel } from '../import/mlflow-wire.ts';
import { TrackingApiError } from '../models/tracking-client.ts';
import { API, type ExportContext } from './export-context.ts';

const VERSIONS_PAGE = 1000;

/**
 * Registered models and their versions into the target, numbers kept (a number deleted in Trove is
 * used up by a placeholder version deleted at once). A model the target already has (an earlier
 * export) gets the description, tags and aliases that differ; a version number it already has gets
 * a changed stage, description or tags when it is the same version (same run, or same source),
 * and is reported otherwise; the numbers it lacks are created.
 */
export async function exportRegistry(ctx: ExportContext, source: MigrationSource, deleteMissing = false): Promise<void> {
  const models: SourceRegisteredModel[] = [];
  for await (const m of source.registeredModels()) models.push(m);
  const failuresBefore = ctx.totals.failures.length;
  ctx.progress.phase('registered models', { items: models.length });
  // Longest roots first, so a logged model's folder inside a run's maps to the logged model.
  ctx.roots.sort((a, b) => b.sourceRoot.length - a.sourceRoot.length);
  await forEachConcurrent(models, ctx.concurrency, async (model) => {
    try {
      await exportModel(ctx, source, model, deleteMissing);
    } catch (error) {
      ctx.fail(`registered model '${model.name}'`, error);
    }
    ctx.progress.item();
  });
  ctx.progress.endPhase();
  // Only after a pass that read everything: a failure may hide what Trove still has.
  if (deleteMissing && ctx.totals.failures.length === failuresBefore) await deleteModelsGoneFromTrove(ctx, new Set(models.map((m) => m.name)));
}

/** Runs of this export in the target (their target ids): what marks a target object as the export's own. */
function exportedRuns(ctx: ExportContext): Set<string> {
  return new Set(ctx.runIds.values());
}

/**
 * `--delete-missing`: registered models of the target that Trove no longer has, when they are the
 * export's own (every version registered from a run this export wrote), are deleted there.
 */
async function deleteModelsGoneFromTrove(ctx: ExportContext, inTrove: Set<string>): Promise<void> {
  const ours = exportedRuns(ctx);
  let pageToken: string | undefined;
  const gone: string[] = [];
  do {
    const page = await ctx.get<{ registered_models?: WireRegisteredModel[]; next_page_token?: string }>('registered-models/search', {
      max_results: '1000',
      ...(pageToken ? { page_token: pageToken } : {}),
    });
    for (const m of page.registered_models ?? []) if (!inTrove.has(m.name)) gone.push(m.name);
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  for (const name of gone) {
    const versions = [...(await targetVersions(ctx, name)).values()];
    if (versions.length === 0 || !versions.every((v) => v.runId !== null && ours.has(v.runId))) continue;
    await ctx.call('DELETE', `${API}/registered-models/delete`, { name });
    ctx.totals.registeredModelsDeleted++;
  }
}

async function exportModel(ctx: ExportContext, source: MigrationSource, model: SourceRegisteredModel, deleteMissing: boolean): Promise<void> {
  const there = await targetModel(ctx, model.name);
  if (!there) {
    await ctx.post('registered-models/create', { name: model.name, ...(model.description ? { description: model.description } : {}), tags: model.tags });
    ctx.totals.registeredModels++;
  } else {
    if ((there.description ?? '') !== (model.description ?? '')) await ctx.call('PATCH', `${API}/registered-models/update`, { name: model.name, description: model.description ?? '' });
    for (const tag of changedTags(model.tags, there.tags)) await ctx.post('registered-models/set-tag', { name: model.name, key: tag.key, value: tag.value });
  }
  const existing = there ? await targetVersions(ctx, model.name) : new Map<number, SourceModelVersion>();
  const versions = (await source.modelVersions(model.name)).sort((a, b) => a.version - b.version);
  for (const v of versions) {
    const runId = v.runId ? ctx.runIds.get(v.runId) : undefined;
    const mappedModel = v.modelId ? ctx.modelIds.get(v.modelId) : ctx.loggedModelOf(v.source);
    // A version of an MLflow 3 logged model: its files are the model's, not the run's, and
    // MLflow takes a model_id only with a source inside that model, so it is registered from
    // `models:/<new model id>` (a `runs:/` source would resolve to the run's empty folder).
    const versionSource = mappedModel && /^runs:\//.test(v.source) ? `models:/${mappedModel}` : ctx.rewriteSource(v.source);
    const have = existing.get(v.version);
    if (have) {
      if ((have.runId ?? null) !== (runId ?? null) || (runId === undefined && have.source !== versionSource)) {
        ctx.warn(`Version ${v.version} of '${model.name}' in the target is another version than Trove's (run ${have.runId ?? 'none'}, source ${have.source}); it was left as it is.`);
        continue;
      }
      const changed = await updateVersion(ctx, v, have);
      if (changed) ctx.totals.modelVersions++;
      else ctx.totals.modelVersionsUnchanged++;
      continue;
    }
    // MLflow numbers versions itself (the next number after every version it ever had): a version
    // created below the wanted number is a placeholder for a number deleted in Trove, deleted at once.
    let created: string;
    for (;;) {
      const made = await ctx.post<{ model_version: { version: string } }>('model-versions/create', {
        name: model.name,
        source: versionSource,
        ...(runId ? { run_id: runId } : {}),
        ...(mappedModel ? { model_id: mappedModel } : {}),
        ...(v.description ? { description: v.description } : {}),
        tags: v.tags,
      });
      created = made.model_version.version;
      if (Number(created) >= v.version) break;
      await ctx.call('DELETE', `${API}/model-versions/delete`, { name: model.name, version: created });
    }
    if (created !== String(v.version)) ctx.warn(`Version ${v.version} of '${model.name}' became version ${created} in the target.`);
    if (v.currentStage && v.currentStage !== 'None') {
      await ctx.post('model-versions/transition-stage', { name: model.name, version: created, stage: v.currentStage, archive_existing_versions: false });
    }
    ctx.totals.modelVersions++;
  }
  const aliases = new Map((there?.aliases ?? []).map((a) => [a.alias, a.version]));
  for (const alias of model.aliases) {
    if (aliases.get(alias.alias) !== alias.version) await ctx.post('registered-models/alias', { name: model.name, alias: alias.alias, version: String(alias.version) });
  }
  if (deleteMissing && there) {
    // Versions deleted in Trove (registered from a run of this export) and aliases Trove no longer has.
    const ours = exportedRuns(ctx);
    const numbers = new Set(versions.map((v) => v.version));
    for (const [number, v] of existing) {
      if (numbers.has(number) || v.runId === null || !ours.has(v.runId)) continue;
      await ctx.call('DELETE', `${API}/model-versions/delete`, { name: model.name, version: String(number) });
      ctx.totals.modelVersionsDeleted++;
    }
    const kept = new Set(model.aliases.map((a) => a.alias));
    for (const alias of aliases.keys()) {
      if (!kept.has(alias)) await ctx.call('DELETE', `${API}/registered-models/alias`, { name: model.name, alias });
    }
  }
}

/** Stage, description and tags of a version the target already has, where they differ. @returns whether any did */
async function updateVersion(ctx: ExportContext, v: SourceModelVersion, have: SourceModelVersion): Promise<boolean> {
  let changed = false;
  const version = String(v.version);
  if ((have.description ?? '') !== (v.description ?? '')) {
    await ctx.call('PATCH', `${API}/model-versions/update`, { name: v.name, version, description: v.description ?? '' });
    changed = true;
  }
  for (const tag of changedTags(v.tags, have.tags)) {
    await ctx.post('model-versions/set-tag', { name: v.name, version, key: tag.key, value: tag.value });
    changed = true;
  }
  if ((v.currentStage || 'None') !== (have.currentStage || 'None')) {
    await ctx.post('model-versions/transition-stage', { name: v.name, version, stage: v.currentStage || 'None', archive_existing_versions: false });
    changed = true;
  }
  return changed;
}

function changedTags(wanted: KeyValue[], there: KeyValue[]): KeyValue[] {
  const have = new Map(there.map((t) => [t.key, t.value]));
  return wanted.filter((t) => have.get(t.key) !== t.value);
}

async function targetModel(ctx: ExportContext, name: string): Promise<SourceRegisteredModel | undefined> {
  try {
    const found = await ctx.get<{ registered_model: WireRegisteredModel }>('registered-models/get', { name });
    return registeredModelFromWire(found.registered_model);
  } catch (error) {
    if (error instanceof TrackingApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
    throw error;
  }
}

/** The target's (undeleted) versions of a model, by number. */
async function targetVersions(ctx: ExportContext, name: string): Promise<Map<number, SourceModelVersion>> {
  const out = new Map<number, SourceModelVersion>();
  let pageToken: string | undefined;
  do {
    const page = await ctx.get<{ model_versions?: WireModelVersion[]; next_page_token?: string }>('model-versions/search', {
      filter: `name='${name.replaceAll("'", "''")}'`,
      max_results: String(VERSIONS_PAGE),
      ...(pageToken ? { page_token: pageToken } : {}),
    });
    for (const wire of page.model_versions ?? []) {
      const v = modelVersionFromWire(wire, null);
      out.set(v.version, v);
    }
    pageToken = page.next_page_token || undefined;
  } while (pageToken);
  return out;
}
