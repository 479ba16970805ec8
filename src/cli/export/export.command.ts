import { Command } from 'commander';
import { openDatabase, type OpenedDatabase } from '../../store/sql/database.ts';
import { openArtifactStore, type OpenedArtifactStore } from '../../store/artifacts/open-artifact-store.ts';
import { SqlTrackingStore } from '../../store/sql/sql-tracking-store.ts';
import { SqlRegistryStore } from '../../store/sql/sql-registry-store.ts';
import { SqlTraceStore } from '../../store/sql/sql-trace-store.ts';
import { SqlAuthStore } from '../../store/sql/sql-auth-store.ts';
import { SqlImportStore } from '../../store/sql/sql-import-store.ts';
import { DEFAULT_PROJECT } from '../../domain/request-context.ts';
import { ExportReader } from '../../domain/import/export-reader.ts';
import { formatBytes } from '../models/progress.ts';
import { createImportProgress, formatCount } from '../import/progress.ts';
import { exportToDir } from './export-dir.ts';
import { MlflowRestWriter } from './mlflow-writer.ts';
import { StoreSource } from './store-source.ts';
import { exportSourceIdentity } from './export-identity.ts';
import type { MigrationSource } from '../../domain/import/source.ts';
import { ImportConflictError } from '../../domain/import/import-plan.ts';
import { type MlflowMetricsTarget, openMlflowMetricsTarget } from './mlflow-db-metrics.ts';

/** Writes `source` into the MLflow server at `trackingUri`, prints totals, the id mapping, warnings and failures. */
async function exportToServer(source: MigrationSource, trackingUri: string, concurrency: number, quiet: boolean, options: { sourceStore: string; deleteMissing: boolean; metricsDb?: MlflowMetricsTarget }): Promise<void> {
  const out = process.stdout;
  out.write(`Exporting ${source.description}\n  to the MLflow server at ${trackingUri.replace(/\/\/[^@/]*@/, '//')}${options.metricsDb ? `, metric histories written into its database ${options.metricsDb.description}` : ''}\n`);
  const totals = await new MlflowRestWriter(trackingUri, createImportProgress({ quiet }), concurrency, process.env, options).write(source);
  out.write(
    `Exported: ${totals.experiments} new experiments, ${totals.runs} runs, ${formatCount(totals.metricPoints)} metric points, ` +
      `${totals.loggedModels} logged models, ${totals.registeredModels} registered models with ${totals.modelVersions} versions, ` +
      `${totals.traces} traces with ${totals.assessments} assessments, ${totals.files} files (${formatBytes(totals.bytes)}).\n`,
  );
  const already = totals.runsUpdated + totals.runsUnchanged + totals.loggedModelsUnchanged + totals.modelVersionsUnchanged + totals.tracesUnchanged;
  if (already > 0) {
    out.write(
      `Already in the target from an earlier export: ${totals.runsUpdated} runs updated, ${totals.runsUnchanged} runs unchanged, ` +
        `${totals.loggedModelsUnchanged} logged models, ${totals.modelVersionsUnchanged} model versions and ${totals.tracesUnchanged} traces unchanged.\n`,
    );
  }
  if (totals.experimentsDeleted + totals.runsDeleted + totals.registeredModelsDeleted + totals.modelVersionsDeleted > 0) {
    out.write(
      `Deleted in the target (gone from Trove since an earlier export): ${totals.experimentsDeleted > 0 ? `${totals.experimentsDeleted} experiments, ` : ''}${totals.runsDeleted} runs, ` +
        `${totals.registeredModelsDeleted} registered models, ${totals.modelVersionsDeleted} model versions.\n`,
    );
  }
  if (totals.mapping.length > 0) {
    out.write('ids in the target (Trove -> target):\n');
    for (const m of totals.mapping) out.write(`  ${m.kind} ${m.from} -> ${m.to}\n`);
  }
  for (const w of totals.warnings) out.write(`warning: ${w}\n`);
  if (totals.failures.length > 0) {
    out.write(`${totals.failures.length} failure(s):\n`);
    for (const f of totals.failures) out.write(`  failed: ${f.what}: ${f.message}\n`);
    process.exitCode = 1;
  } else {
    out.write('Everything was exported.\n');
  }
}

/**
 * `trove export --to-dir <path>`: one project of a Trove store as a portable folder;
 * `trove export --to <tracking uri>`: the same project written into an MLflow server over REST.
 */
export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('Export a Trove project (experiments, runs with full metric histories, artifacts, logged models, registry, traces) to a portable folder or another MLflow server.')
    .option('--to-dir <path>', 'a new (or empty) folder to write: JSON lines and the artifact files; `trove import dir <path>` reads it back')
    .option('--to <tracking uri>', 'an MLflow tracking server to write into over its REST API (credentials: MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD); run, logged model and assessment ids change there, the mapping is printed; running it again writes only what changed')
    .option(
      '--target-db <sqlalchemy uri>',
      "with --to: write the metric histories straight into the target server's own database (its --backend-store-uri: sqlite:///<path> or postgresql://...) instead of through its log-batch endpoint; everything else still goes through --to. It must be that server's database (checked: every run the export makes or finds there must be in it)",
    )
    .option('--concurrency <n>', 'runs written at the same time with --to', (v) => Math.max(1, Math.min(64, Number(v) || 4)), 4)
    .option('--backend-store-uri <uri>', 'the Trove database to read (same as `trove server`)', 'sqlite:///./trove-data/trove.db')
    .option('--artifacts-destination <path>', "Trove's artifact store (same as `trove server`)", './trove-data/artifacts')
    .option('--project <name>', 'the project to export (default: the default project)')
    .option('--skip-artifacts', 'write metadata only, no files')
    .option('--delete-missing', "with --to: delete in the target what an earlier export made there and Trove no longer has at all (runs and experiments purged by `trove gc`, registered models, versions and aliases deleted in Trove); only the export's own objects (runs and experiments this Trove's project created, marked trove.source_store; models made from its runs) are touched, never another Trove's in the same target. Runs and experiments deleted or restored in Trove follow either way")
    .option('-q, --quiet', 'no progress display')
    .addHelpText(
      'after',
      '\nExample:\n  trove export --to-dir ./trove-export --backend-store-uri sqlite:///./trove-data/trove.db\n  trove import dir ./trove-export --backend-store-uri sqlite:///./other/trove.db --artifacts-destination ./other/artifacts\n' +
        '\nWith --target-db the metric histories (nearly all of the data) are written into the MLflow\n' +
        "server's database in short transactions, its latest_metrics kept as MLflow keeps them; the\n" +
        'server may keep running. SQLite is opened read-write (waiting for the server\'s locks),\n' +
        'PostgreSQL through node-postgres; the password in the URI is never printed. E.g.\n' +
        '  trove export --to http://mlflow.internal:5000 --target-db sqlite:////srv/mlflow/mlflow.db\n' +
        '  trove export --to http://mlflow.internal:5000 --target-db postgresql://writer:secret@db:5432/mlflow\n' +
        '\nExit code: 0 all exported, 1 something failed (see the report), 2 refused: wrong flags, or a\n' +
        '--target-db that cannot be used (before anything is written; with another server\'s database,\n' +
        'before any metric point is written). See docs/migrating.md.\n',
    )
    .action(async (options: { toDir?: string; to?: string; targetDb?: string; concurrency: number; backendStoreUri: string; artifactsDestination: string; project?: string; skipArtifacts?: boolean; deleteMissing?: boolean; quiet?: boolean }) => {
      let database: OpenedDatabase | undefined;
      let artifacts: OpenedArtifactStore | undefined;
      if ((options.toDir === undefined) === (options.to === undefined)) {
        process.stderr.write('error: give exactly one of --to-dir <path> and --to <tracking uri>\n');
        process.exitCode = 2;
        return;
      }
      if (options.targetDb !== undefined && options.to === undefined) {
        process.stderr.write('error: --target-db goes with --to <tracking uri> (the database of that MLflow server)\n');
        process.exitCode = 2;
        return;
      }
      let metricsDb: MlflowMetricsTarget | undefined;
      try {
        database = await openDatabase(options.backendStoreUri);
        artifacts = openArtifactStore(options.artifactsDestination);
        let projectId = DEFAULT_PROJECT.id;
        if (options.project && options.project !== DEFAULT_PROJECT.name) {
          const project = await new SqlAuthStore(database.db).getProjectByName(options.project);
          if (!project) throw new Error(`Project '${options.project}' does not exist.`);
          projectId = project.id;
        }
        const reader = new ExportReader(
          { tracking: new SqlTrackingStore(database.db), registry: new SqlRegistryStore(database.db), artifacts: artifacts.store, traces: new SqlTraceStore(database.db) },
          projectId,
        );
        const sourceDescription = `${database.description}${options.project ? `, project '${options.project}'` : ''}`;
        if (options.to !== undefined) {
          const sourceStore = await exportSourceIdentity(new SqlImportStore(database.db), projectId);
          if (options.targetDb !== undefined) metricsDb = await openMlflowMetricsTarget(options.targetDb, Math.min(options.concurrency, 8));
          await exportToServer(new StoreSource(reader, sourceDescription), options.to, options.concurrency, options.quiet === true, {
            sourceStore,
            deleteMissing: options.deleteMissing === true,
            ...(metricsDb ? { metricsDb } : {}),
          });
          return;
        }
        const totals = await exportToDir(reader, artifacts.store, options.toDir!, {
          source: sourceDescription,
          skipArtifacts: options.skipArtifacts === true,
          progress: createImportProgress({ quiet: options.quiet === true }),
        });
        process.stdout.write(
          `Exported to ${options.toDir}: ${totals.experiments} experiments, ${totals.runs} runs, ${formatCount(totals.metricPoints)} metric points, ` +
            `${totals.loggedModels} logged models, ${totals.registeredModels} registered models with ${totals.modelVersions} versions, ` +
            `${totals.traces} traces, ${totals.files} files (${formatBytes(totals.bytes)}).\n`,
        );
      } catch (error) {
        process.stderr.write(`error: ${(error as Error).message}\n`);
        // A refusal before writing (a --target-db that cannot be used) is 2, as for `trove import`.
        process.exitCode = error instanceof ImportConflictError ? 2 : 1;
      } finally {
        await metricsDb?.close().catch(() => undefined);
        await database?.close();
        artifacts?.close();
      }
    });
}
