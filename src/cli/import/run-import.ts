import { SqlTraceStore } from '../../store/sql/sql-trace-store.ts';
import { openDatabase, type OpenedDatabase } from '../../store/sql/database.ts';
import { openArtifactStore, type OpenedArtifactStore } from '../../store/artifacts/open-artifact-store.ts';
import { SqlTrackingStore } from '../../store/sql/sql-tracking-store.ts';
import { SqlRegistryStore } from '../../store/sql/sql-registry-store.ts';
import { SqlImportStore } from '../../store/sql/sql-import-store.ts';
import { SqlAuthStore } from '../../store/sql/sql-auth-store.ts';
import { TrackingService } from '../../domain/tracking/tracking-service.ts';
import { DEFAULT_PROJECT } from '../../domain/request-context.ts';
import { ImportService, type ImportOptions, type ImportPreview } from '../../domain/import/import-service.ts';
import { ImportConflictError, type OnConflict } from '../../domain/import/import-plan.ts';
import type { ImportReport } from '../../domain/import/report.ts';
import type { MigrationSource } from '../../domain/import/source.ts';
import { formatBytes } from '../models/progress.ts';
import { createImportProgress, formatCount, formatDuration } from './progress.ts';
import { importIntoServer } from './remote-target.ts';

/** The options every `trove import <source>` command shares. */
export interface CommonImportOptions {
  backendStoreUri: string;
  artifactsDestination: string;
  defaultArtifactRoot: string;
  project?: string;
  onConflict: OnConflict;
  remapIds?: boolean;
  concurrency: number;
  dryRun?: boolean;
  skipArtifacts?: boolean;
  skipRegistry?: boolean;
  deleteMissing?: boolean;
  experiment?: string[];
  quiet?: boolean;
  /** A running Trove to import into over its bulk import API, instead of a store. */
  to?: string;
}

/**
 * Opens the target store (the same flags as `trove server`), imports from `source` (or previews
 * with --dry-run), prints the report and sets the exit code: 0 when everything came across, 1 when
 * something failed (the report says what), 2 when the import was refused before writing.
 */
export async function runImport(openSource: () => Promise<MigrationSource> | MigrationSource, options: CommonImportOptions): Promise<void> {
  let database: OpenedDatabase | undefined;
  let artifacts: OpenedArtifactStore | undefined;
  let source: MigrationSource | undefined;
  const out = process.stdout;
  try {
    source = await openSource();
    if (options.to) {
      await importThroughServer(source, { ...options, to: options.to }, out);
      return;
    }
    database = await openDatabase(options.backendStoreUri);
    artifacts = openArtifactStore(options.artifactsDestination);
    const tracking = new SqlTrackingStore(database.db);
    // A fresh database gets its Default experiment first, exactly as `trove server` would.
    await new TrackingService(tracking, options.defaultArtifactRoot).initialize();
    let projectId = DEFAULT_PROJECT.id;
    if (options.project && options.project !== DEFAULT_PROJECT.name) {
      const project = await new SqlAuthStore(database.db).getProjectByName(options.project);
      if (!project) throw new ImportConflictError(`Project '${options.project}' does not exist. Create it first: trove project create ${options.project}`);
      projectId = project.id;
    }
    const progress = createImportProgress({ quiet: options.quiet === true });
    const service = new ImportService(
      { tracking, registry: new SqlRegistryStore(database.db), imports: new SqlImportStore(database.db), artifacts: artifacts.store, traces: new SqlTraceStore(database.db) },
      progress,
    );
    const importOptions: ImportOptions = {
      projectId,
      defaultArtifactRoot: options.defaultArtifactRoot,
      onConflict: options.onConflict,
      remapIds: options.remapIds === true,
      concurrency: options.concurrency,
      skipArtifacts: options.skipArtifacts === true,
      skipRegistry: options.skipRegistry === true,
      deleteMissing: options.deleteMissing === true,
      ...(options.experiment && options.experiment.length > 0 ? { experiments: options.experiment } : {}),
    };
    out.write(`Importing from ${source.description}\n  into ${database.description}, artifacts in ${artifacts.description}${options.project ? `, project '${options.project}'` : ''}\n`);
    const started = Date.now();
    if (options.dryRun) {
      printPreview(await service.preview(source, importOptions), out);
      return;
    }
    // Every object is recorded as imported only once complete, so stopping anywhere is safe.
    const onSignal = () => {
      process.stderr.write('\nInterrupted. What was complete is kept; run the same command again to resume.\n');
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    const report = await service.run(source, importOptions);
    process.removeListener('SIGINT', onSignal);
    printReport(report, Date.now() - started, out);
    if (!report.ok) process.exitCode = 1;
  } catch (error) {
    if (error instanceof ImportConflictError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`error: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  } finally {
    await source?.close();
    await database?.close();
    artifacts?.close();
  }
}

/** `--to`: the import runs in the Trove server; this command feeds it the source and shows progress. */
async function importThroughServer(source: MigrationSource, options: CommonImportOptions & { to: string }, out: NodeJS.WritableStream): Promise<void> {
  const progress = createImportProgress({ quiet: options.quiet === true });
  out.write(`Importing from ${source.description}\n  into the Trove at ${redactUrl(options.to)}${options.project ? `, project '${options.project}'` : ''}\n`);
  const started = Date.now();
  const onSignal = () => {
    process.stderr.write('\nInterrupted. What was complete is kept; run the same command again to resume.\n');
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  try {
    const result = await importIntoServer(source, {
      to: options.to,
      ...(options.project ? { project: options.project } : {}),
      onConflict: options.onConflict,
      remapIds: options.remapIds === true,
      concurrency: options.concurrency,
      skipArtifacts: options.skipArtifacts === true,
      skipRegistry: options.skipRegistry === true,
      deleteMissing: options.deleteMissing === true,
      ...(options.experiment && options.experiment.length > 0 ? { experiments: options.experiment } : {}),
      dryRun: options.dryRun === true,
    }, progress);
    if (result.preview) printPreview(result.preview, out);
    if (result.report) {
      printReport(result.report, Date.now() - started, out);
      if (!result.report.ok) process.exitCode = 1;
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/+$/, '');
  } catch {
    return url;
  }
}

function printPreview(preview: ImportPreview, out: NodeJS.WritableStream): void {
  out.write('\nDry run: nothing was written. The import would do this:\n\n');
  const rows = preview.experiments.map((e) => [
    e.name,
    e.action === 'create' && e.targetName !== e.name ? `create as '${e.targetName}'` : e.action,
    String(e.runs.new),
    String(e.runs.changed),
    String(e.runs.unchanged),
    String(e.metricSeries),
  ]);
  out.write(table(['EXPERIMENT', 'ACTION', 'NEW RUNS', 'CHANGED', 'UNCHANGED', 'METRIC SERIES'], rows));
  const notes = preview.experiments.filter((e) => e.note);
  for (const e of notes) out.write(`  '${e.name}': ${e.note}\n`);
  out.write(
    `\nArtifacts to copy: ${preview.artifactFiles} files, ${formatBytes(preview.artifactBytes)}\n` +
      `Logged models: ${preview.loggedModels}\nRegistered models: ${preview.registeredModels} with ${preview.modelVersions} versions\n`,
  );
  for (const [from, to] of preview.runIdMap) out.write(`  run ${from} would become ${to}\n`);
  printMissing(preview.missing, out);
  for (const w of preview.warnings) out.write(`warning: ${w}\n`);
}

/** The dry run's list of what is gone from the source for good, kind by kind. */
function printMissing(missing: ImportPreview['missing'], out: NodeJS.WritableStream): void {
  const kinds: Array<[string, string[]]> = [
    ['experiments', missing.experiments],
    ['runs', missing.runs],
    ['registered models', missing.registeredModels],
    ['model versions', missing.modelVersions],
    ['aliases', missing.aliases],
  ];
  if (kinds.every(([, list]) => list.length === 0)) {
    out.write('Gone from the source since an earlier import: nothing\n');
    return;
  }
  out.write(
    missing.deleteMissing
      ? 'Gone from the source since an earlier import, would be deleted here (--delete-missing; runs and experiments marked deleted):\n'
      : 'Gone from the source since an earlier import, would be kept here with a warning (--delete-missing would delete them):\n',
  );
  const SHOWN = 20;
  for (const [kind, list] of kinds) {
    if (list.length === 0) continue;
    const more = list.length > SHOWN ? `, and ${list.length - SHOWN} more` : '';
    out.write(`  ${kind}: ${list.length} (${list.slice(0, SHOWN).join(', ')}${more})\n`);
  }
}

/** The final report: every kind of object with what happened to it, then failures and warnings. */
export function printReport(report: ImportReport, elapsedMs: number, out: NodeJS.WritableStream): void {
  out.write('\nImport report\n');
  const rows = [...report.counts].map(([kind, c]) => [kind, String(c.created), String(c.updated), String(c.unchanged), String(c.skipped), String(c.deleted), String(c.failed)]);
  out.write(table(['OBJECTS', 'CREATED', 'UPDATED', 'UNCHANGED', 'SKIPPED', 'DELETED', 'FAILED'], rows));
  const seconds = Math.max(elapsedMs / 1000, 0.001);
  out.write(
    `metric points: ${formatCount(report.metricPoints)}   artifacts: ${report.artifactFiles} files, ${formatBytes(report.artifactBytes)} copied` +
      (report.artifactFilesUnchanged > 0 ? `, ${report.artifactFilesUnchanged} already present` : '') +
      `   in ${formatDuration(elapsedMs)} (${formatBytes(Math.round(report.artifactBytes / seconds))}/s)\n`,
  );
  for (const c of report.conflicts) out.write(`conflict: '${c.name}' ${c.resolution}\n`);
  if (report.remapped.length > 0) {
    out.write('ids that changed (source -> Trove):\n');
    for (const r of report.remapped) out.write(`  ${r.kind} ${r.from} -> ${r.to}\n`);
  }
  for (const w of report.warnings) out.write(`warning: ${w}\n`);
  if (report.failures.length > 0) {
    out.write(`${report.failures.length} failure(s); run the same command again to retry them:\n`);
    for (const f of report.failures) out.write(`  failed: ${f.kind} ${f.id}: ${f.message}\n`);
  } else {
    out.write('Everything was imported.\n');
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
