import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { AuditLog } from '../domain/audit/audit-log.ts';
import { MlflowError } from '../domain/errors.ts';
import { currentContext } from '../domain/request-context.ts';
import type { ImportSessions } from '../domain/import/remote-session.ts';
import { decodeWire, encodeWire } from './import-wire-json.ts';
import { parseFields, requestFields, text } from './request-schema.ts';
import { rpc } from './rpc.ts';

/**
 * Trove's own bulk import API, which `trove import ... --to <Trove URL>` drives (relative to
 * /api/2.0/trove). The MLflow API cannot keep run ids, version numbers or timestamps; these
 * routes run the same import as `trove import` into a store, in the project the URL names, for
 * instance administrators and project maintainers or owners. See remote-session.ts for the
 * protocol: open a session, poll for the source reads it needs, answer each, stream files.
 */

const ON_CONFLICT = ['fail', 'skip', 'merge', 'rename'] as const;

const openSchema = z.object({
  source: z.object({
    key: z.string().min(1).max(2048),
    description: z.string().max(2048),
    warnings: z.array(z.string().max(4096)).max(1000).default([]),
    /** The command can answer trace reads (older commands never said so: no traces asked). */
    traces: z.boolean().default(false),
  }),
  options: z
    .object({
      on_conflict: z.enum(ON_CONFLICT).default('fail'),
      remap_ids: z.boolean().default(false),
      concurrency: z.number().int().min(1).max(64).default(4),
      skip_artifacts: z.boolean().default(false),
      skip_registry: z.boolean().default(false),
      delete_missing: z.boolean().default(false),
      experiments: z.array(text).max(10_000).optional(),
      dry_run: z.boolean().default(false),
    })
    .optional(),
});

const pollSchema = z.object({ session_id: text, wait_ms: z.number().int().min(0).max(30_000).default(20_000) });
const answerSchema = z.object({
  session_id: text,
  call_id: z.coerce.number().int().positive(),
  result: z.unknown().optional(),
  error: z.string().max(65_536).optional(),
  sha256: z.string().optional(),
});

/** Who a session belongs to: the principal as the auth hook established it. */
function ownerOf(): string {
  const { principal } = currentContext();
  return `${principal.kind}:${principal.username}`;
}

export async function importRoutes(app: FastifyInstance, sessions: ImportSessions, audit: AuditLog | undefined): Promise<void> {
  rpc(app, 'POST', '/import/sessions', 'import', async (fields) => {
    const parsed = parseFields(openSchema, fields);
    const input = { ...parsed, options: parsed.options ?? parseFields(openSchema.shape.options.unwrap(), {}) };
    const context = currentContext();
    const session = sessions.open({
      owner: ownerOf(),
      source: input.source,
      dryRun: input.options.dry_run,
      options: {
        projectId: context.project.id,
        defaultArtifactRoot: sessions.defaultArtifactRoot,
        onConflict: input.options.on_conflict,
        remapIds: input.options.remap_ids,
        concurrency: input.options.concurrency,
        skipArtifacts: input.options.skip_artifacts,
        skipRegistry: input.options.skip_registry,
        deleteMissing: input.options.delete_missing,
        ...(input.options.experiments && input.options.experiments.length > 0 ? { experiments: input.options.experiments } : {}),
      },
    });
    if (!input.options.dry_run) {
      await audit?.recordStandalone({ action: 'import.start', entityType: 'import', entityId: session.id, details: { source: input.source.description } });
    }
    return { session_id: session.id, project: context.project.name };
  });

  rpc(app, 'POST', '/import/sessions/:session_id/poll', 'import', async (fields) => {
    const input = parseFields(pollSchema, fields);
    const session = sessions.get(input.session_id, ownerOf(), currentContext().project.id);
    const answer = await session.poll(input.wait_ms);
    if (answer.outcome) {
      sessions.close(session.id);
      if (!session.request.dryRun) {
        const outcome = answer.outcome;
        await audit?.recordStandalone({
          action: 'import.finish',
          entityType: 'import',
          entityId: session.id,
          details: {
            source: session.request.source.description,
            status: outcome.status,
            ...(outcome.status === 'done'
              ? { counts: outcome.report.counts, failures: outcome.report.failures.length, metric_points: outcome.report.metricPoints, artifact_bytes: outcome.report.artifactBytes }
              : {}),
          },
        });
      }
    }
    return encodeWire(answer) as object;
  });

  rpc(app, 'POST', '/import/sessions/:session_id/calls/:call_id', 'import', async (fields) => {
    const input = parseFields(answerSchema, fields);
    const session = sessions.get(input.session_id, ownerOf(), currentContext().project.id);
    session.answer(input.call_id, {
      // Non-finite metric values travel tagged (JSON has no NaN): the session sees plain numbers.
      ...('result' in fields ? { result: decodeWire(input.result) } : {}),
      ...(input.error !== undefined ? { error: input.error } : {}),
      ...(input.sha256 !== undefined ? { sha256: input.sha256 } : {}),
    });
    return {};
  });

  // File bodies are raw bytes of any size: no parser reads them and no body limit applies.
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, _payload, done) => {
      done(null);
    });
    raw.put('/import/sessions/:session_id/calls/:call_id/content', { config: { permission: 'import' } }, async (request: FastifyRequest) => {
      const params = parseFields(z.object({ session_id: text, call_id: z.coerce.number().int().positive() }), requestFields('GET', request.params, undefined));
      const session = sessions.get(params.session_id, ownerOf(), currentContext().project.id);
      const declared = request.headers['content-length'];
      const size = declared === undefined ? null : Number(declared);
      if (size !== null && (!Number.isSafeInteger(size) || size < 0)) throw MlflowError.invalidParameter('Invalid Content-Length.');
      return session.content(params.call_id, request.raw, size);
    });
  });

}
