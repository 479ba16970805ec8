import { Command } from 'commander';
import { openDatabase, type OpenedDatabase } from '../../store/sql/database.ts';
import { openArtifactStore, type OpenedArtifactStore } from '../../store/artifacts/open-artifact-store.ts';
import { SqlTrackingStore } from '../../store/sql/sql-tracking-store.ts';
import { SqlRegistryStore } from '../../store/sql/sql-registry-store.ts';
import { SqlAuthStore } from '../../store/sql/sql-auth-store.ts';
import { DEFAULT_PROJECT } from '../../domain/request-context.ts';
import { ExportReader } from '../../domain/import/export-reader.ts';
import { formatBytes } from '../models/progress.ts';
import { createImportProgress, formatCount } from '../import/progress.ts';
import { exportToDir } from './export-dir.ts';

/** `trove export --to-dir <path>`: one project of a Trove store as a portable folder. */
export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('Export a Trove project (experiments, runs with full metric histories, artifacts, logged models, registry) to a portable folder.')
    .requiredOption('--to-dir <path>', 'a new (or empty) folder to write: JSON lines and the artifact files; `trove import dir <path>` reads it back')
    .option('--backend-store-uri <uri>', 'the Trove database to read (same as `trove server`)', 'sqlite:///./trove-data/trove.db')
    .option('--artifacts-destination <path>', "Trove's artifact store (same as `trove server`)", './trove-data/artifacts')
    .option('--project <name>', 'the project to export (default: the default project)')
    .option('--skip-artifacts', 'write metadata only, no files')
    .option('-q, --quiet', 'no progress display')
    .addHelpText('after', '\nExample:\n  trove export --to-dir ./trove-export --backend-store-uri sqlite:///./trove-data/trove.db\n  trove import dir ./trove-export --backend-store-uri sqlite:///./other/trove.db --artifacts-destination ./other/artifacts\n')
    .action(async (options: { toDir: string; backendStoreUri: string; artifactsDestination: string; project?: string; skipArtifacts?: boolean; quiet?: boolean }) => {
      let database: OpenedDatabase | undefined;
      let artifacts: OpenedArtifactStore | undefined;
      try {
        database = await openDatabase(options.backendStoreUri);
        artifacts = openArtifactStore(options.artifactsDestination);
        let projectId = DEFAULT_PROJECT.id;
        if (options.project && options.project !== DEFAULT_PROJECT.name) {
          const project = await new SqlAuthStore(database.db).getProjectByName(options.project);
          if (!project) throw new Error(`Project '${options.project}' does not exist.`);
          projectId = project.id;
        }
        const reader = new ExportReader({ tracking: new SqlTrackingStore(database.db), registry: new SqlRegistryStore(database.db), artifacts: artifacts.store }, projectId);
        const totals = await exportToDir(reader, artifacts.store, options.toDir, {
          source: `${database.description}${options.project ? `, project '${options.project}'` : ''}`,
          skipArtifacts: options.skipArtifacts === true,
          progress: createImportProgress({ quiet: options.quiet === true }),
        });
        process.stdout.write(
          `Exported to ${options.toDir}: ${totals.experiments} experiments, ${totals.runs} runs, ${formatCount(totals.metricPoints)} metric points, ` +
            `${totals.loggedModels} logged models, ${totals.registeredModels} registered models with ${totals.modelVersions} versions, ` +
            `${totals.files} files (${formatBytes(totals.bytes)}).\n`,
        );
      } catch (error) {
        process.stderr.write(`error: ${(error as Error).message}\n`);
        process.exitCode = 1;
      } finally {
        await database?.close();
        artifacts?.close();
      }
    });
}
