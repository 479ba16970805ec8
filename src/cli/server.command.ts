import { Command, InvalidArgumentError } from 'commander';
import { createServer } from '../server.ts';
import { TROVE_VERSION } from '../version.ts';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('must be a port number (0-65535).');
  return port;
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
    .option('--backend-store-uri <uri>', 'database for experiments, runs and models (sqlite:///<path>)', 'sqlite:///./trove-data/trove.db')
    .option('--artifacts-destination <path>', 'where the artifact proxy stores files', './trove-data/artifacts')
    .option('--default-artifact-root <uri>', 'artifact location root given to new experiments', 'mlflow-artifacts:/')
    .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'info')
    .helpOption('--help', 'display help for command')
    .addHelpText(
      'after',
      '\nPoint the MLflow client at it:\n  export MLFLOW_TRACKING_URI=http://127.0.0.1:5000\n',
    )
    .action(async (options: {
      host: string;
      port: number;
      backendStoreUri: string;
      artifactsDestination: string;
      defaultArtifactRoot: string;
      logLevel: string;
    }) => {
      const server = await createServer({
        backendStoreUri: options.backendStoreUri,
        artifactsDestination: options.artifactsDestination,
        defaultArtifactRoot: options.defaultArtifactRoot,
        logger: { level: options.logLevel },
      });
      const { app, services } = server;
      await app.listen({ host: options.host, port: options.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : options.port;
      const shownHost = options.host.includes(':') ? `[${options.host}]` : options.host;
      app.log.info(
        { url: `http://${shownHost}:${port}`, database: services.info.backendStore, artifactRoot: services.info.artifactsDestination },
        `Trove ${TROVE_VERSION} listening on http://${shownHost}:${port}`,
      );
      process.stdout.write(
        [
          `Trove ${TROVE_VERSION} is running`,
          `  URL:                   http://${shownHost}:${port}`,
          `  Database:              ${services.info.backendStore}`,
          `  Artifact root:         ${services.info.artifactsDestination}`,
          `  Default artifact root: ${services.info.defaultArtifactRoot}`,
          `  Client setup:          export MLFLOW_TRACKING_URI=http://${shownHost}:${port}`,
          '',
        ].join('\n'),
      );
      if (!isLoopback(options.host)) {
        app.log.warn(`Listening on ${options.host} without authentication: anyone who can reach this address can read and change all data.`);
      }
      const shutdown = async (signal: string) => {
        app.log.info(`${signal} received, shutting down`);
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void shutdown('SIGINT'));
      process.once('SIGTERM', () => void shutdown('SIGTERM'));
    });
}
