import { Command, InvalidArgumentError } from 'commander';
import { openDatabase } from '../store/sql/database.ts';
import { openArtifactStore } from '../store/artifacts/open-artifact-store.ts';
import type { ArtifactStore } from '../store/artifacts/artifact-store.ts';
import { SqlGcStore, type PurgeCandidate } from '../store/sql/sql-gc-store.ts';
import { SqlAuthStore } from '../store/sql/sql-auth-store.ts';
import { AuditLog } from '../domain/audit/audit-log.ts';
import { proxyPathFromArtifactUri } from '../domain/artifacts/artifact-path.ts';
import { registerServerArtifactRoot, serverStoragePath } from '../domain/artifacts/artifact-scope.ts';
import { runWithContext, systemContext } from '../domain/request-context.ts';
import { createProgress, formatBytes } from './models/progress.ts';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `1d2h30m`, `90s` (MLflow's --older-than form); `0` for "any age". */
export function parseOlderThan(value: string): number {
  const text = value.trim().toLowerCase();
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) {
    throw new InvalidArgumentError('use a duration such as 30d, 12h or 1d2h30m.');
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
}

function splitIds(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

const RUN_DIR = /^[0-9a-f]{32}$/;

interface Totals {
  runs: number;
  experiments: number;
  loggedModels: number;
  traces: number;
  rows: number;
  bytes: number;
  files: number;
  orphanFolders: number;
  orphanBytes: number;
  auditEntries: number;
  skippedArtifacts: string[];
}

/** Files and bytes under a store folder. */
async function measure(store: ArtifactStore, dir: string): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  for (const entry of await store.list(dir)) {
    const child = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDir) {
      const inner = await measure(store, child);
      files += inner.files;
      bytes += inner.bytes;
    } else {
      files += 1;
      bytes += entry.size ?? 0;
    }
  }
  return { files, bytes };
}

/** The store folder an entity's artifact location names, when it is the server's own storage. */
function storePathOf(uri: string | null): string | undefined {
  if (!uri) return undefined;
  try {
    return proxyPathFromArtifactUri(uri) ?? serverStoragePath(uri);
  } catch {
    return undefined;
  }
}

/** `trove gc`: MLflow's `mlflow gc` for Trove, plus orphan artifacts and audit log retention. */
export function gcCommand(program: Command): void {
  program
    .command('gc')
    .description('Permanently delete runs, experiments, logged models and traces in the deleted state (as `mlflow gc`), with their metrics, params, tags and artifacts.')
    .option('--backend-store-uri <uri>', 'database of the Trove server', 'sqlite:///./trove-data/trove.db')
    .option('--artifacts-destination <path>', 'artifact root of the Trove server (a folder or s3://bucket/prefix)', './trove-data/artifacts')
    .option('--older-than <duration>', 'only what was deleted longer ago than this (e.g. 30d, 12h, 1d2h30m); default: everything deleted', parseOlderThan, 0)
    .option('--experiment-ids <ids>', 'only these deleted experiments (comma-separated)', splitIds)
    .option('--run-ids <ids>', 'only these deleted runs (comma-separated)', splitIds)
    .option('--sweep-orphans', 'also delete artifact folders of runs and experiments the database does not know')
    .option('--audit-retention-days <days>', 'also delete audit log entries older than this many days (default: TROVE_AUDIT_RETENTION_DAYS, else keep all)', (v) => {
      const days = Number(v);
      if (!Number.isFinite(days) || days <= 0) throw new InvalidArgumentError('must be a positive number of days.');
      return days;
    })
    .option('--dry-run', 'only count what would be deleted (entities, rows, files, bytes)')
    .option('-q, --quiet', 'no progress bar')
    .addHelpText('after', '\nThe server may keep running. Each entity is deleted in its own transaction, artifacts first; every deletion is in the audit log (actor cli:gc).\n')
    .action(async (options: {
      backendStoreUri: string;
      artifactsDestination: string;
      olderThan: number;
      experimentIds?: string[];
      runIds?: string[];
      sweepOrphans?: boolean;
      auditRetentionDays?: number;
      dryRun?: boolean;
      quiet?: boolean;
    }) => {
      const database = await openDatabase(options.backendStoreUri);
      const artifacts = openArtifactStore(options.artifactsDestination);
      registerServerArtifactRoot(options.artifactsDestination);
      try {
        const totals = await runWithContext(systemContext({ username: 'cli:gc' }), () =>
          collectGarbage(new SqlGcStore(database.db), artifacts.store, new AuditLog(new SqlAuthStore(database.db)), {
            before: Math.floor(Date.now() - options.olderThan),
            experimentIds: options.experimentIds,
            runIds: options.runIds,
            sweepOrphans: options.sweepOrphans === true,
            auditRetentionDays: options.auditRetentionDays ?? (Number(process.env.TROVE_AUDIT_RETENTION_DAYS) > 0 ? Number(process.env.TROVE_AUDIT_RETENTION_DAYS) : undefined),
            dryRun: options.dryRun === true,
            quiet: options.quiet === true,
          }),
        );
        const verb = options.dryRun ? 'Would delete' : 'Deleted';
        process.stdout.write(
          `${verb} ${totals.experiments} experiments, ${totals.runs} runs, ${totals.loggedModels} logged models, ${totals.traces} traces ` +
            `(${totals.rows} metric/param/tag rows), ${totals.files} artifact files (${formatBytes(totals.bytes)})` +
            (options.sweepOrphans ? `, ${totals.orphanFolders} orphan artifact folders (${formatBytes(totals.orphanBytes)})` : '') +
            (totals.auditEntries > 0 || options.auditRetentionDays ? `, ${totals.auditEntries} audit entries` : '') +
            '.\n',
        );
        for (const uri of totals.skippedArtifacts) process.stdout.write(`  not the server's storage, left in place: ${uri}\n`);
      } finally {
        artifacts.close();
        await database.close();
      }
    });
}

export interface GcOptions {
  before: number;
  experimentIds?: string[] | undefined;
  runIds?: string[] | undefined;
  sweepOrphans: boolean;
  auditRetentionDays?: number | undefined;
  dryRun: boolean;
  quiet: boolean;
}

/** The work of `trove gc`, callable from tests. */
export async function collectGarbage(gc: SqlGcStore, store: ArtifactStore, audit: AuditLog, options: GcOptions): Promise<Totals> {
  const totals: Totals = { runs: 0, experiments: 0, loggedModels: 0, traces: 0, rows: 0, bytes: 0, files: 0, orphanFolders: 0, orphanBytes: 0, auditEntries: 0, skippedArtifacts: [] };
  const experiments = options.runIds && !options.experimentIds ? [] : await gc.deletedExperiments(options.before, options.experimentIds);
  const work: { entity: PurgeCandidate; experiment?: string }[] = [];
  for (const experiment of experiments) {
    for (const inner of await gc.contentsOfExperiment(experiment.id)) work.push({ entity: inner });
    work.push({ entity: experiment });
  }
  if (!options.experimentIds) {
    const seen = new Set(work.map((w) => `${w.entity.kind}:${w.entity.id}`));
    const loose = [...(await gc.deletedRuns(options.before, options.runIds)), ...(options.runIds ? [] : await gc.deletedLoggedModels(options.before))];
    for (const entity of loose) if (!seen.has(`${entity.kind}:${entity.id}`)) work.push({ entity });
  }

  const sizes = new Map<PurgeCandidate, { path?: string; files: number; bytes: number }>();
  for (const { entity } of work) {
    const found = entity.kind === 'experiment' ? undefined : storePathOf(entity.artifactUri);
    // A run's files live in <experiment>/<run id>/artifacts: the run's whole folder goes.
    const path = found === '' ? undefined : entity.kind === 'run' && found?.endsWith(`/${entity.id}/artifacts`) ? found.slice(0, -'/artifacts'.length) : found;
    const measured = path ? await measure(store, path) : { files: 0, bytes: 0 };
    sizes.set(entity, { ...(path ? { path } : {}), ...measured });
    if (!path && entity.artifactUri && entity.kind !== 'experiment' && !entity.artifactUri.startsWith('mlflow-artifacts:')) totals.skippedArtifacts.push(entity.artifactUri);
  }
  const progress = createProgress({ quiet: options.quiet || options.dryRun });
  progress.start(options.dryRun ? 'gc (dry run)' : 'gc', work.length, [...sizes.values()].reduce((s, v) => s + v.bytes, 0));
  for (const { entity } of work) {
    const size = sizes.get(entity)!;
    if (entity.kind === 'run') totals.rows += await gc.runRowCounts(entity.id);
    if (!options.dryRun) {
      // Artifacts first: if deleting them fails, the row stays and the next gc tries again.
      if (size.path) await store.delete(size.path);
      if (entity.kind === 'run') await gc.purgeRun(entity.id);
      else if (entity.kind === 'logged_model') await gc.purgeLoggedModel(entity.id);
      else if (entity.kind === 'trace') await gc.purgeTrace(entity.id);
      else {
        const folder = storePathOf(entity.artifactUri);
        if (folder) await store.delete(folder).catch(() => undefined);
        await gc.purgeExperiment(entity.id);
      }
      await audit.recordStandalone({ action: `${entity.kind}.purge`, entityType: entity.kind, entityId: entity.id, projectId: null, details: { files: size.files, bytes: size.bytes } });
    }
    totals.files += size.files;
    totals.bytes += size.bytes;
    if (entity.kind === 'run') totals.runs += 1;
    else if (entity.kind === 'experiment') totals.experiments += 1;
    else if (entity.kind === 'logged_model') totals.loggedModels += 1;
    else totals.traces += 1;
    progress.fileDone(entity.id, size.bytes);
  }
  progress.finish();

  if (options.sweepOrphans) await sweepOrphans(gc, store, options.dryRun, totals);
  if (options.auditRetentionDays !== undefined) {
    totals.auditEntries = await gc.pruneAudit(Math.floor(Date.now() - options.auditRetentionDays * 86_400_000), options.dryRun);
  }
  return totals;
}

/** Artifact folders `<experiment>/<run>` (also under projects/<id>/) that no database row owns. */
async function sweepOrphans(gc: SqlGcStore, store: ArtifactStore, dryRun: boolean, totals: Totals): Promise<void> {
  const runs = await gc.allRunUuids();
  const experiments = await gc.allExperimentIds();
  const roots = [''];
  for (const entry of await store.list('projects')) if (entry.isDir && /^\d+$/.test(entry.name)) roots.push(`projects/${entry.name}`);
  for (const root of roots) {
    for (const exp of await store.list(root)) {
      if (!exp.isDir || !/^\d+$/.test(exp.name)) continue;
      const expPath = root === '' ? exp.name : `${root}/${exp.name}`;
      const orphans = experiments.has(exp.name)
        ? (await store.list(expPath)).filter((e) => e.isDir && RUN_DIR.test(e.name) && !runs.has(e.name)).map((e) => `${expPath}/${e.name}`)
        : [expPath];
      for (const orphan of orphans) {
        const size = await measure(store, orphan);
        totals.orphanFolders += 1;
        totals.orphanBytes += size.bytes;
        if (!dryRun) await store.delete(orphan);
      }
    }
  }
}
