import { Command, InvalidArgumentError } from 'commander';
import { parseModelUri, ModelUriError } from './models/model-uri.ts';
import { pullAndWatch, pullOnce } from './models/pull.ts';
import { DestinationError } from './models/model-dir.ts';
import { TrackingApiError } from './models/tracking-client.ts';

function positiveSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('must be a positive number of seconds.');
  return seconds;
}

function nonNegativeSeconds(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) throw new InvalidArgumentError('must be a number of seconds (0 or more).');
  return seconds;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('must be a whole number from 1 to 64.');
  return n;
}

/** MLFLOW_TRACKING_URI when it names a server, else a local one (the MLflow client's default port). */
function defaultTrackingUri(): string {
  const fromEnv = process.env.MLFLOW_TRACKING_URI;
  return fromEnv && /^https?:\/\//i.test(fromEnv) ? fromEnv : 'http://127.0.0.1:5000';
}

interface PullCommandOptions {
  dest: string;
  watch?: boolean;
  trackingUri?: string;
  pollInterval: number;
  gracePeriod: number;
  concurrency: number;
  force?: boolean;
  quiet?: boolean;
}

const HELP_AFTER = `
Model URIs (resolved through the server exactly as mlflow.pyfunc.load_model does):
  models:/churn/3            version 3
  models:/churn@production   the version the alias "production" points at
  models:/churn/latest       the highest version
  models:/churn/Production   the highest version in stage Production
  models:/m-<id>             an MLflow 3 logged model (not with --watch)

How DIR is kept consistent:
  DIR is a symlink to DIR's sibling folder .<name>.versions/<version>-<time>/, which holds
  the complete files of one version plus trove-model.json (model, version, run id, source,
  download time). A new version is downloaded next to it, each file's size is checked, and
  the symlink is replaced in one rename(2): a process reading DIR sees the old version or
  the new one, never a partial model. Replaced versions stay for --grace-period seconds, so
  a reader that resolved DIR (realpath) before a swap can finish reading. A plain DIR from
  before is refused unless --force (it is moved into the versions folder).

With --watch, the command follows the server's registry event stream for the model
(reconnecting with backoff, polling while it is down or if the server has none) and swaps
in every new version the URI resolves to. Ctrl-C stops it cleanly.

Authentication: MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD (Basic) or
MLFLOW_TRACKING_TOKEN (Bearer) are sent when set, as the MLflow client does.

Examples:
  trove models pull "models:/churn@production" --dest ./serving/churn
  trove models pull "models:/churn@production" --dest ./serving/churn --watch
`;

/** `trove models pull`: keeps a local copy of a registered model version. */
export function modelsCommand(program: Command): void {
  const models = program.command('models').description('Work with registered models.');
  models
    .command('pull')
    .description('Download the model version a models:/ URI names into DIR, swapping it in atomically; with --watch, keep DIR on the newest one.')
    .argument('<model-uri>', 'models:/<name>/<version>, models:/<name>@<alias>, models:/<name>/latest or models:/<name>/<stage>')
    .requiredOption('--dest <dir>', 'where the model appears (a symlink managed by this command)')
    .option('--watch', 'keep running and swap in each new version the URI resolves to')
    .option('--tracking-uri <url>', 'the Trove (or MLflow) server (default: $MLFLOW_TRACKING_URI, else http://127.0.0.1:5000)')
    .option('--poll-interval <seconds>', 'with --watch: how often to check while the event stream is unavailable', positiveSeconds, 30)
    .option('--grace-period <seconds>', 'how long a replaced version stays on disk for readers still using it', nonNegativeSeconds, 300)
    .option('--concurrency <n>', 'files downloaded at once', positiveInteger, 4)
    .option('--force', 'replace a DIR that this command did not create (it is moved aside, not deleted)')
    .option('-q, --quiet', 'no progress output')
    .addHelpText('after', HELP_AFTER)
    .action(async (uriText: string, options: PullCommandOptions) => {
      const fail = (message: string): never => {
        process.stderr.write(`trove models pull: ${message}\n`);
        process.exit(1);
      };
      let uri;
      try {
        uri = parseModelUri(uriText);
      } catch (error) {
        if (error instanceof ModelUriError) fail(error.message);
        throw error;
      }
      const pullOptions = {
        uri: uri!,
        dest: options.dest,
        trackingUri: options.trackingUri ?? defaultTrackingUri(),
        force: options.force === true,
        graceMs: options.gracePeriod * 1000,
        concurrency: options.concurrency,
        quiet: options.quiet === true,
      };
      const stop = new AbortController();
      let interrupted = false;
      const onSignal = (signal: NodeJS.Signals): void => {
        if (interrupted) process.exit(130);
        interrupted = true;
        process.stderr.write(`\n${signal} received, stopping (again to force).\n`);
        stop.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        if (options.watch) {
          await pullAndWatch({ ...pullOptions, pollIntervalMs: options.pollInterval * 1000 }, stop.signal);
          process.stderr.write('Stopped watching.\n');
        } else {
          await pullOnce(pullOptions, stop.signal);
        }
      } catch (error) {
        if (stop.signal.aborted) {
          process.stderr.write('Stopped.\n');
          process.exitCode = 130;
          return;
        }
        if (error instanceof DestinationError || error instanceof TrackingApiError || error instanceof Error) fail(error.message);
        throw error;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
