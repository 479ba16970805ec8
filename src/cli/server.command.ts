import type { Server } from 'node:http';
import { Command, InvalidArgumentError } from 'commander';
import { createServer, type RunningServices } from '../server.ts';
import { openDatabase } from '../store/sql/database.ts';
import { openArtifactStore } from '../store/artifacts/open-artifact-store.ts';
import { TROVE_VERSION } from '../version.ts';
import { isClusterWorker, runClusterPrimary } from './cluster.ts';
import { SqlAuthStore } from '../store/sql/sql-auth-store.ts';
import { AuditLog } from '../domain/audit/audit-log.ts';
import { AuthService } from '../domain/auth/auth-service.ts';
import { runWithContext, systemContext } from '../domain/request-context.ts';
import { bufferedStdout, humanLogStream } from '../http/access-log.ts';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535).');
  return port;
}

function parseWorkers(value: string): number {
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new InvalidArgumentError('must be a whole number from 1 to 64.');
  return workers;
}

function parseTrustProxy(value: string): boolean | string {
  if (value === 'true') return true;
  if (value === 'false') return false;
  if (!/^[0-9A-Fa-f:.,/\s]+$/.test(value)) throw new InvalidArgumentError('must be true, or IP addresses/CIDRs separated by commas.');
  return value;
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** `trove server`: the tracking server, registry and artifact proxy in one process. */
export function serverCommand(program: Command): void {
  program
    .command('server')
    .description('Run the tracking server (MLflow REST API, artifact proxy).')
    .option('-h, --host <host>', 'address to listen on', '127.0.0.1')
    .option('-p, --port <port>', 'port to listen on', parsePort, 5000)
    .option(
      '--backend-store-uri <uri>',
      'database for experiments, runs and models (sqlite:///<path> or postgresql://<user>:<password>@<host>:<port>/<db>)',
      'sqlite:///./trove-data/trove.db',
    )
    .option(
      '--artifacts-destination <path>',
      'where the artifact proxy stores files: a folder, or s3://<bucket>/<prefix> (S3 settings from MLFLOW_S3_ENDPOINT_URL, AWS_*)',
      './trove-data/artifacts',
    )
    .option('--default-artifact-root <uri>', 'artifact location root given to new experiments', 'mlflow-artifacts:/')
    .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'info')
    .option('--workers <n>', 'server processes sharing the port (PostgreSQL is the better backend for more than 1)', parseWorkers, 1)
    .option('--webhook-require-https', 'accept only https webhook URLs even if MLFLOW_WEBHOOK_ALLOWED_SCHEMES allows others (the default is https only, as MLflow)')
    .option('--auth', 'require credentials (access tokens, user name and password, web sign-in) and enforce project roles; the first start creates an administrator')
    .option(
      '--trust-proxy <proxies>',
      'behind a reverse proxy: trust X-Forwarded-For/-Proto from these addresses/CIDRs (comma-separated, or "true" for any) for client addresses (rate limits, audit log) and https',
      parseTrustProxy,
    )
    .helpOption('--help', 'display help for command')
    .addHelpText(
      'after',
      '\nPoint the MLflow client at it:\n  export MLFLOW_TRACKING_URI=http://127.0.0.1:5000                  # the default project\n' +
        '  export MLFLOW_TRACKING_URI=http://127.0.0.1:5000/projects/<name>   # another project\n' +
        '\nWebhook receivers: MLFLOW_WEBHOOK_ALLOWED_SCHEMES (default https), MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS (default false),\n' +
        '  MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY (else a key file in the data folder), MLFLOW_WEBHOOK_REQUEST_TIMEOUT, MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES.\n' +
        '\nWith --auth, manage users, projects, members and tokens with `trove user|project|member|token --help`.\n',
    )
    .action(async (options: {
      host: string;
      port: number;
      backendStoreUri: string;
      artifactsDestination: string;
      defaultArtifactRoot: string;
      logLevel: string;
      workers: number;
      webhookRequireHttps?: boolean;
      auth?: boolean;
      trustProxy?: boolean | string;
    }) => {
      const authEnabled = options.auth === true;
      const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
      const banner = (port: number, database: string, artifactRoot: string): void => {
        process.stdout.write(
          [
            `Trove ${TROVE_VERSION} is running`,
            `  URL:                   http://${shownHost}:${port}`,
            `  Database:              ${database}`,
            `  Artifact root:         ${artifactRoot}`,
            `  Default artifact root: ${options.defaultArtifactRoot}`,
            ...(options.workers > 1 ? [`  Worker processes:      ${options.workers}`] : []),
            `  Authentication:        ${authEnabled ? 'on (trove user|project|member|token --help)' : 'off (start with --auth to require credentials)'}`,
            `  Client setup:          export MLFLOW_TRACKING_URI=http://${shownHost}:${port}`,
            '',
          ].join('\n'),
        );
      };
      const openWarning = `Listening on ${options.host} without authentication: anyone who can reach this address can read and change all data.`;

      if (options.workers > 1 && /^sqlite:\/\/\/(:memory:)?$/.test(options.backendStoreUri)) {
        // Each process would get its own empty in-memory database.
        process.stderr.write('error: --workers > 1 needs a database file or PostgreSQL, not an in-memory SQLite database.\n');
        process.exitCode = 1;
        return;
      }
      if (options.workers > 1 && !isClusterWorker()) {
        // The primary migrates once, then forks workers that share the port; it serves nothing itself.
        let databaseDescription = '';
        let initialAdmin: { username: string; password: string } | undefined;
        await runClusterPrimary({
          workers: options.workers,
          logLevel: options.logLevel,
          prepare: async () => {
            const database = await openDatabase(options.backendStoreUri);
            databaseDescription = database.description;
            try {
              if (authEnabled) initialAdmin = await createInitialAdmin(database.db);
            } finally {
              await database.close();
            }
          },
          onListening: (address) => {
            const artifactStore = openArtifactStore(options.artifactsDestination);
            banner(address.port, databaseDescription, artifactStore.description);
            artifactStore.close();
            if (initialAdmin) printInitialAdmin(initialAdmin, `http://${shownHost}:${address.port}`);
            if (!isLoopback(options.host) && !authEnabled) process.stderr.write(`WARNING: ${openWarning}\n`);
          },
        });
        return;
      }

      const worker = isClusterWorker();
      let server: RunningServices;
      try {
        server = await createServer({
          backendStoreUri: options.backendStoreUri,
          artifactsDestination: options.artifactsDestination,
          defaultArtifactRoot: options.defaultArtifactRoot,
          logger: serverLogger(options.logLevel),
          migrate: !worker,
          webhooks: { requireHttps: options.webhookRequireHttps === true },
          auth: { enabled: authEnabled },
          ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
        });
      } catch (error) {
        // A configuration problem (database unreachable, wrong password, bad URI): say so, no stack.
        // Then exit: what was opened before the failure (a database handle, a pool, timers) would
        // keep the process alive without a listener — and a --workers worker must die so its
        // primary notices (it restarts it, and stops after repeated crashes).
        process.stderr.write(`error: ${(error as Error).message}\n`);
        process.exit(1);
      }
      const { app, services } = server;
      await app.listen({ host: options.host, port: options.port });
      // bin/trove.js writes the code cache of the compiled server now (bin/bundle-loader.js).
      process.emit('trove:listening' as 'beforeExit', 0);
      signalInUse(app.server);
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      app.log.info(
        { url: `http://${shownHost}:${port}`, database: services.info.backendStore, artifactRoot: services.info.artifactsDestination },
        `Trove ${TROVE_VERSION} listening on http://${shownHost}:${port}`,
      );
      if (!worker) {
        banner(port, services.info.backendStore, services.info.artifactsDestination);
        if (authEnabled && services.auth) {
          const created = await runWithContext(systemContext({ username: 'system:first-start' }), () => services.auth!.ensureInitialAdmin());
          if (created) printInitialAdmin(created, `http://${shownHost}:${port}`);
        }
        if (!isLoopback(options.host) && !authEnabled) app.log.warn(openWarning);
      }
      let closing = false;
      const shutdown = async (signal: string) => {
        // Ctrl-C reaches a worker both directly and as the primary's SIGTERM: close only once.
        if (closing) return;
        closing = true;
        app.log.info(`${signal} received, shutting down`);
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
    });
}

/** On the first start with --auth: the administrator account, created in the primary process. */
async function createInitialAdmin(db: ConstructorParameters<typeof SqlAuthStore>[0]): Promise<{ username: string; password: string } | undefined> {
  const auth = new AuthService(new SqlAuthStore(db), new AuditLog(new SqlAuthStore(db)), { enabled: true });
  return runWithContext(systemContext({ username: 'system:first-start' }), () => auth.ensureInitialAdmin());
}

/** Printed once, to the terminal only (never to the log). */
function printInitialAdmin(created: { username: string; password: string }, url: string): void {
  process.stdout.write(
    [
      '',
      'Authentication is on and there were no users: created the instance administrator',
      `  user name: ${created.username}`,
      `  password:  ${created.password}`,
      'This password is shown only now. Sign in to the web UI at ' + url + ' or use it with the MLflow client:',
      `  export MLFLOW_TRACKING_USERNAME=${created.username}`,
      "  export MLFLOW_TRACKING_PASSWORD='<the password above>'",
      `Change it with \`trove user set-password ${created.username}\`; create users, projects and tokens with`,
      '`trove user create`, `trove project create` and `trove token create` (see --help).',
      '',
    ].join('\n'),
  );
}

/**
 * pino options: JSON lines by default (for log collectors); on a terminal a readable line per
 * entry. TROVE_LOG_FORMAT=json|human overrides the choice.
 */
function serverLogger(level: string): object {
  const format = process.env.TROVE_LOG_FORMAT?.toLowerCase();
  const human = format === 'human' || (format !== 'json' && process.stdout.isTTY === true);
  return human ? { level, stream: humanLogStream(process.stdout) } : { level, stream: bufferedStdout() };
}

/** Requests after which a server counts as in use rather than idle (bin/trove.js, 'trove:in-use'). */
export const IN_USE_REQUESTS = 100;

/**
 * Emits 'trove:in-use' once the server has received IN_USE_REQUESTS requests. bin/trove.js holds
 * V8's optimizing compiler back from code that merely started the server and served a handful of
 * requests (idle memory, docs/memory.md); from then on, hot code is optimized as soon as V8 would.
 */
export function signalInUse(server: Server): void {
  let received = 0;
  const count = (): void => {
    received += 1;
    if (received < IN_USE_REQUESTS) return;
    server.off('request', count);
    process.emit('trove:in-use' as 'beforeExit', 0);
  };
  server.on('request', count);
}
