import { Command, InvalidArgumentError, Option } from 'commander';
import type { OnConflict } from '../../domain/import/import-plan.ts';
import { MlflowRestSource } from './mlflow-rest-source.ts';
import { DbHistoriesSource, openMlflowMetricsDb } from './mlflow-db-histories.ts';
import { MlrunsSource } from './mlruns-source.ts';
import { ExportDirSource } from './dir-source.ts';
import { runImport, type CommonImportOptions } from './run-import.ts';

const ON_CONFLICT: readonly OnConflict[] = ['fail', 'skip', 'merge', 'rename'];

/**
 * Runs imported at once. Each run reads its metric histories one request at a time, so this is
 * also the number of requests the source has in flight: twice the four workers `mlflow server`
 * starts by default keeps every worker busy while answers are parsed and written (bench/import-bench.ts).
 */
const DEFAULT_CONCURRENCY = 8;

function parseConcurrency(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be a whole number from 1 to 64.');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** The flags every source shares: where to write (as `trove server`), conflicts, speed, what to leave out. */
function addCommonOptions(command: Command): Command {
  return command
    .option('--to <trove url>', 'import into a running Trove over its bulk import API (credentials: TROVE_TOKEN, else MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD); instead of --backend-store-uri')
    .option('--backend-store-uri <uri>', 'the Trove database to import into (same as `trove server`)', 'sqlite:///./trove-data/trove.db')
    .option('--artifacts-destination <path>', 'where Trove keeps artifact files: a folder or s3://<bucket>/<prefix> (same as `trove server`)', './trove-data/artifacts')
    .option('--default-artifact-root <uri>', 'artifact location root of imported experiments (same as `trove server`)', 'mlflow-artifacts:/')
    .option('--project <name>', 'import into this Trove project (default: the default project)')
    .addOption(
      new Option('--on-conflict <policy>', 'an experiment or registered model whose name is taken in Trove: fail (stop before writing), skip, merge, rename (experiments get a suffixed name)')
        .choices(ON_CONFLICT as string[])
        .default('fail'),
    )
    .option('--remap-ids', 'give runs whose ids already exist in Trove new ids (printed) instead of stopping')
    .option('--concurrency <n>', 'runs and models imported at the same time', parseConcurrency, DEFAULT_CONCURRENCY)
    .option('--experiment <id-or-name>', 'import only this experiment (repeatable)', collect)
    .option('--skip-artifacts', 'do not copy files: imported runs keep pointing at the source artifact locations')
    .option('--skip-registry', 'leave out registered models and versions')
    .option('--delete-missing', 'delete in Trove what was imported from this source before and is gone from it since (registered models, versions and aliases deleted; runs and experiments purged at the source marked deleted). Without it they are kept and the report counts them. Deleted/restored runs and experiments follow the source either way')
    .option('--dry-run', 'list what would be imported and how much, and what is gone from the source for good (what --delete-missing would delete), without writing anything')
    .option('-q, --quiet', 'no progress display (the report is still printed)');
}

const AFTER_HELP =
  '\nIds are kept: runs:/<run id>/..., models:/<name>/<version> and models:/<name>@<alias> resolve the\n' +
  'same in Trove. Running the same command again imports only what changed since (a mirror): runs and\n' +
  'experiments deleted or restored at the source are deleted or restored here; objects gone from the\n' +
  'source for good are deleted here only with --delete-missing. An interrupted import resumes\n' +
  'without duplicates. Exit code: 0 all imported, 1 something failed (see the report), 2 refused\n' +
  'before writing (a name or id conflict, or a --source-db that cannot be used). See docs/migrating.md.\n';

export function importCommand(program: Command): void {
  const command = program
    .command('import')
    .description('Import experiments, runs, metrics, artifacts and models from MLflow into Trove.');

  addCommonOptions(
    command
      .command('mlflow')
      .description('Import from a running MLflow tracking server over its REST API (MLflow 2.x/3.x, GitLab).')
      .requiredOption('--from <tracking uri>', 'the MLflow tracking URI, e.g. http://mlflow:5000 or https://gitlab.example.com/api/v4/projects/<id>/ml/mlflow')
      .option(
        '--source-db <sqlalchemy uri>',
        "read the metric histories straight from the source server's own database (its --backend-store-uri: sqlite:///<path> or postgresql://...), read-only, instead of one REST request per metric; everything else still comes through --from",
      ),
  )
    .addHelpText(
      'after',
      '\nCredentials for the source come from MLFLOW_TRACKING_TOKEN (bearer) or\nMLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD (basic), as for the MLflow client.\n' +
        '\nExample:\n  trove import mlflow --from http://mlflow.internal:5000 \\\n    --backend-store-uri sqlite:///./trove-data/trove.db --artifacts-destination ./trove-data/artifacts\n' +
        '\nWith --source-db the metric histories (nearly all of the data) are read from the MLflow server\'s\n' +
        'database instead of one REST request per metric; it must be that server\'s own\n' +
        'database (checked: every run the server lists must be in it). SQLite is opened read-only,\n' +
        'PostgreSQL in read-only sessions; the password in the URI is never printed. E.g.\n' +
        '  trove import mlflow --from http://mlflow.internal:5000 --source-db sqlite:////srv/mlflow/mlflow.db\n' +
        '  trove import mlflow --from http://mlflow.internal:5000 --source-db postgresql://reader:secret@db:5432/mlflow\n' +
        AFTER_HELP,
    )
    .action(async (options: CommonImportOptions & { from: string; sourceDb?: string }) => {
      await runImport(async () => {
        const rest = new MlflowRestSource(options.from);
        if (options.sourceDb === undefined) return rest;
        return new DbHistoriesSource(rest, await openMlflowMetricsDb(options.sourceDb, Math.min(options.concurrency, 8)));
      }, options);
    });

  addCommonOptions(
    command
      .command('mlruns <path>')
      .description('Import an MLflow file store folder (mlruns/) read directly: experiments, .trash, runs, metrics, artifacts, models/.'),
  )
    .addHelpText(
      'after',
      '\nArtifacts are read from each run\'s recorded location on this machine, or from the same place\ninside <path> when the folder was moved.\n' +
        '\nExample:\n  trove import mlruns ./mlruns --backend-store-uri sqlite:///./trove-data/trove.db\n' +
        AFTER_HELP,
    )
    .action(async (folder: string, options: CommonImportOptions) => {
      await runImport(() => new MlrunsSource(folder), options);
    });

  addCommonOptions(
    command
      .command('dir <path>')
      .description('Import a folder written by `trove export --to-dir` (JSON lines + files, checked against their SHA-256).'),
  )
    .addHelpText('after', '\nExample:\n  trove import dir ./trove-export --backend-store-uri sqlite:///./new/trove.db --artifacts-destination ./new/artifacts\n' + AFTER_HELP)
    .action(async (folder: string, options: CommonImportOptions) => {
      await runImport(() => new ExportDirSource(folder), options);
    });
}
