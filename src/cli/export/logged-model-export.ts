import type { MigrationSource, SourceLoggedModel } from '../../domain/import/source.ts';
import { API, type ExportContext, SOURCE_MODEL_TAG } from './export-context.ts';
import { copyFiles } from './file-export.ts';
import type { Found } from './target-state.ts';

/**
 * Writes one MLflow 3 logged model into the target: created (marked with the Trove model id it
 * comes from, {@link SOURCE_MODEL_TAG}) with its params and tags unless an earlier export made it
 * (`existing`), in which case only the tags it lacks, the files it lacks and a changed status or
 * deleted state are sent. @returns whether anything was written
 */
export async function exportLoggedModel(
  ctx: ExportContext,
  source: MigrationSource,
  model: SourceLoggedModel,
  experimentId: string,
  existing: Found<SourceLoggedModel> | undefined,
): Promise<boolean> {
  let newId: string;
  let targetRoot: string;
  let wrote = false;
  const tags = ctx.remapTags(model.tags);
  if (existing) {
    newId = existing.targetId;
    targetRoot = existing.record.artifactUri;
    const have = new Map(existing.record.tags.map((t) => [t.key, t.value]));
    const changed = tags.filter((t) => have.get(t.key) !== t.value);
    if (changed.length > 0) {
      await ctx.call('PATCH', `${API}/logged-models/${encodeURIComponent(newId)}/tags`, { tags: changed });
      wrote = true;
    }
  } else {
    const sourceRunId = model.sourceRunId ? ctx.runIds.get(model.sourceRunId) : undefined;
    const created = await ctx.post<{ model: { info: { model_id: string; artifact_uri: string } } }>('logged-models', {
      experiment_id: experimentId,
      name: model.name,
      ...(model.modelType ? { model_type: model.modelType } : {}),
      ...(sourceRunId ? { source_run_id: sourceRunId } : {}),
      params: model.params,
      tags: [...tags, { key: SOURCE_MODEL_TAG, value: model.modelId }],
    });
    newId = created.model.info.model_id;
    targetRoot = created.model.info.artifact_uri;
    wrote = true;
  }
  ctx.modelIds.set(model.modelId, newId);
  if (model.sourceRunId) ctx.loggedByRun.set(`${model.sourceRunId}/${model.name}`, newId);
  ctx.map('logged model', model.modelId, newId);
  ctx.roots.push({ id: model.modelId, newId, sourceRoot: model.artifactUri, targetRoot });
  if (await copyFiles(ctx, source, model.artifactUri, { kind: 'logged-model', id: model.modelId }, targetRoot, `logged model ${model.modelId}`, existing !== undefined)) wrote = true;
  if (!existing || existing.record.status !== model.status) {
    await ctx.call('PATCH', `${API}/logged-models/${encodeURIComponent(newId)}`, { model_id: newId, status: model.status });
    wrote = true;
  }
  if (model.lifecycleStage === 'deleted' && existing?.record.lifecycleStage !== 'deleted') {
    await ctx.call('DELETE', `${API}/logged-models/${encodeURIComponent(newId)}`, undefined);
    wrote = true;
  }
  return wrote;
}
