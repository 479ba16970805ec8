import type { FastifyInstance } from 'fastify';
import { buildApp } from './http/app.ts';
import { TrackingService } from './domain/tracking/tracking-service.ts';
import { ArtifactService } from './domain/artifacts/artifact-service.ts';
import { RegistryService } from './domain/registry/registry-service.ts';
import type { RegistryEventSink } from './domain/registry/registry-events.ts';
import type { Services } from './domain/services.ts';
import { openDatabase, type OpenedDatabase } from './store/sql/database.ts';
import { SqlTrackingStore } from './store/sql/sql-tracking-store.ts';
import { SqlRegistryStore } from './store/sql/sql-registry-store.ts';
import { openArtifactStore } from './store/artifacts/open-artifact-store.ts';
import { MLFLOW_COMPAT_VERSION } from './version.ts';

export interface ServerConfig {
  backendStoreUri: string;
  artifactsDestination: string;
  defaultArtifactRoot: string;
  logger?: boolean | object;
  /** Where registry events go (webhook outbox, event stream); none by default. */
  registryEvents?: RegistryEventSink;
  /** Run the schema migrations on start (default true); `--workers` migrates once in the primary. */
  migrate?: boolean;
  /** PostgreSQL connections this process may hold (default 10). */
  databasePoolSize?: number;
  /** Where S3 settings (MLFLOW_S3_ENDPOINT_URL, AWS_*) are read from; process.env by default. */
  artifactStoreEnv?: NodeJS.ProcessEnv;
}

export interface RunningServices {
  app: FastifyInstance;
  services: Services;
  database: OpenedDatabase;
  close(): Promise<void>;
}

/**
 * Wires stores, domain services and the HTTP app from a configuration. Used by `trove server`
 * and by the API tests, so both run exactly the same composition.
 */
export async function createServer(config: ServerConfig): Promise<RunningServices> {
  const database = await openDatabase(config.backendStoreUri, {
    ...(config.migrate !== undefined ? { migrate: config.migrate } : {}),
    ...(config.databasePoolSize !== undefined ? { poolSize: config.databasePoolSize } : {}),
  });
  const artifactStore = openArtifactStore(config.artifactsDestination, config.artifactStoreEnv);
  const tracking = new TrackingService(new SqlTrackingStore(database.db), config.defaultArtifactRoot);
  await tracking.initialize();
  const artifacts = new ArtifactService(artifactStore.store);
  const registry = new RegistryService(new SqlRegistryStore(database.db), tracking, artifacts, { events: config.registryEvents });
  const services: Services = {
    tracking,
    artifacts,
    registry,
    info: {
      version: MLFLOW_COMPAT_VERSION,
      backendStore: database.description,
      artifactsDestination: artifactStore.description,
      defaultArtifactRoot: config.defaultArtifactRoot,
      storeType: 'SqlStore',
    },
  };
  const app = await buildApp({ services, logger: config.logger ?? false });
  return {
    app,
    services,
    database,
    async close() {
      await app.close();
      await database.close();
      artifactStore.close();
    },
  };
}
