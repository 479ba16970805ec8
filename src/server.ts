import path from 'node:path';
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
import { LocalArtifactStore } from './store/artifacts/local-artifact-store.ts';
import { MLFLOW_COMPAT_VERSION } from './version.ts';

export interface ServerConfig {
  backendStoreUri: string;
  artifactsDestination: string;
  defaultArtifactRoot: string;
  logger?: boolean | object;
  /** Where registry events go (webhook outbox, event stream); none by default. */
  registryEvents?: RegistryEventSink;
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
  const database = await openDatabase(config.backendStoreUri);
  const artifactRoot = path.resolve(config.artifactsDestination);
  const tracking = new TrackingService(new SqlTrackingStore(database.db), config.defaultArtifactRoot);
  await tracking.initialize();
  const artifacts = new ArtifactService(new LocalArtifactStore(artifactRoot));
  const registry = new RegistryService(new SqlRegistryStore(database.db), tracking, artifacts, { events: config.registryEvents });
  const services: Services = {
    tracking,
    artifacts,
    registry,
    info: {
      version: MLFLOW_COMPAT_VERSION,
      backendStore: database.description,
      artifactsDestination: artifactRoot,
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
    },
  };
}
