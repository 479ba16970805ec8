import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Services } from '../domain/services.ts';
import { presentRun } from './presenters.ts';
import { presentModelVersion } from './registry-presenters.ts';
import { bool, int64, parseFields, text, textList, viewType } from './request-schema.ts';
import { rpc } from './rpc.ts';
import { requirePermission } from '../domain/auth/permissions.ts';
import { currentContext } from '../domain/request-context.ts';

const promoteSchema = z.object({
  run_id: text,
  model_name: text,
  artifact_path: text.optional(),
  description: text.optional(),
  alias: text.optional(),
  version_label: text.optional(),
  tags: z.array(z.object({ key: text, value: text.optional() })).optional(),
  create_model_if_missing: bool.optional(),
});
const candidatesSchema = z.object({
  name: text,
  filter: text.optional(),
  order_by: textList.optional(),
  max_results: int64.optional(),
  page_token: text.optional(),
  run_view_type: viewType.optional(),
});

/**
 * Trove's own registry endpoints, outside MLflow's namespace (docs/api-trove.md), relative to
 * /api/2.0 or /ajax-api/2.0: promoting a run to a model version, and a model's candidate runs.
 */
export async function troveRegistryRoutes(app: FastifyInstance, { registry }: Services): Promise<void> {
  rpc(app, 'POST', '/trove/registry/promote', 'register', async (fields) => {
    const input = parseFields(promoteSchema, fields);
    // Promoting is a developer's; pointing an alias at the new version is a maintainer's.
    if (input.alias !== undefined && input.alias !== '') requirePermission('alias', currentContext());
    const version = await registry.promoteRun({
      runId: input.run_id,
      modelName: input.model_name,
      artifactPath: input.artifact_path,
      description: input.description,
      alias: input.alias,
      versionLabel: input.version_label,
      tags: input.tags?.map((t) => ({ key: t.key, value: t.value ?? '' })),
      createModelIfMissing: input.create_model_if_missing,
    });
    return { model_version: presentModelVersion(version) };
  });

  rpc(app, 'GET', '/trove/registry/candidates', 'read', async (fields) => {
    const input = parseFields(candidatesSchema, fields);
    const candidates = await registry.listCandidateRuns(input.name, {
      filter: input.filter,
      orderBy: input.order_by,
      maxResults: input.max_results,
      pageToken: input.page_token,
      viewType: input.run_view_type,
    });
    return {
      ...(candidates.experimentId !== undefined ? { experiment_id: candidates.experimentId } : {}),
      runs: candidates.runs.map((run) => ({
        ...presentRun(run),
        model_versions: (candidates.versionsByRun[run.info.runId] ?? []).map(String),
      })),
      ...(candidates.nextPageToken ? { next_page_token: candidates.nextPageToken } : {}),
    };
  });
}
