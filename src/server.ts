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
import { SqlEventsStore } from './store/sql/sql-events-store.ts';
import { EventBus } from './domain/events/event-bus.ts';
import { composeSinks, OutboxEventSink } from './domain/events/outbox-sink.ts';
import { RegistryEventStream, type EventStreamOptions } from './domain/events/event-stream.ts';
import { WebhookService } from './domain/webhooks/webhook-service.ts';
import { WebhookDispatcher, type DispatcherOptions } from './domain/webhooks/webhook-dispatcher.ts';
import type { EventRoutesOptions } from './http/events.routes.ts';
import { MLFLOW_COMPAT_VERSION } from './version.ts';
import { SqlAuthStore } from './store/sql/sql-auth-store.ts';
import { AuditLog } from './domain/audit/audit-log.ts';
import { AuthService, type AuthOptions } from './domain/auth/auth-service.ts';
import { TraceService } from './domain/tracing/trace-service.ts';
import { SqlTraceStore } from './store/sql/sql-trace-store.ts';
import { readProxiedArtifact } from './domain/tracing/read-artifact.ts';
import { EvaluationDatasetService } from './domain/evaluation-datasets/evaluation-dataset-service.ts';
import { SqlEvaluationDatasetStore } from './store/sql/sql-evaluation-dataset-store.ts';
import { webhookUrlPolicyFromEnv, type Resolver, type WebhookUrlPolicy } from './domain/webhooks/url-guard.ts';
import { openSecretBox, sealLegacySecrets } from './domain/webhooks/secret-box.ts';
import { databasePoolSizeFromEnv, defaultDataDir, preparedStatementsFromEnv, webhookDeliveryFromEnv } from './server-settings.ts';
import { sqliteSyncFromEnv } from './store/sql/wal-sync.ts';
import { registerServerArtifactRoot } from './domain/artifacts/artifact-scope.ts';
import { ServerMetrics } from './http/prometheus.ts';
import { ImportService } from './domain/import/import-service.ts';
import { ImportSessions } from './domain/import/remote-session.ts';
import { SqlImportStore } from './store/sql/sql-import-store.ts';

export interface ServerConfig {
  backendStoreUri: string;
  artifactsDestination: string;
  defaultArtifactRoot: string;
  logger?: boolean | object;
  /** Where registry events go (webhook outbox, event stream); none by default. */
  registryEvents?: RegistryEventSink;
  /** Run the schema migrations on start (default true); `--workers` migrates once in the primary. */
  migrate?: boolean;
  /** PostgreSQL connections this process may hold (default: MLFLOW_SQLALCHEMYSTORE_POOL_SIZE + _MAX_OVERFLOW when set, else 10). */
  databasePoolSize?: number;
  /** Named (server-side prepared) PostgreSQL statements; default from TROVE_PG_PREPARED_STATEMENTS, else on. */
  databasePreparedStatements?: boolean;
  /** Where S3 settings (MLFLOW_S3_ENDPOINT_URL, AWS_*) are read from; process.env by default. */
  artifactStoreEnv?: NodeJS.ProcessEnv;
  /** Webhooks and the registry event stream; the defaults suit production, tests shorten them. */
  webhooks?: WebhookConfig;
  /** Users, tokens and permissions (`trove server --auth`); off by default, as MLflow. */
  auth?: AuthOptions;
  /** Trust X-Forwarded-For/-Proto from these proxies (see AppOptions.trustProxy). */
  trustProxy?: boolean | string;
  /** Prometheus metrics at GET /metrics (default true); TROVE_METRICS_TOKEN protects them. */
  metrics?: boolean;
  /** Where MLflow-named settings (MLFLOW_WEBHOOK_*) are read from; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /**
   * The data folder for files the server keeps beside its database (the webhook secret key);
   * by default the SQLite database's folder, else the local artifact folder's parent.
   */
  dataDir?: string;
}

export interface WebhookConfig {
  /** Refuse webhook URLs that are not https, whatever MLFLOW_WEBHOOK_ALLOWED_SCHEMES says. */
  requireHttps?: boolean;
  /** Overrides MLFLOW_WEBHOOK_ALLOWED_SCHEMES / MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS. */
  urlPolicy?: Partial<WebhookUrlPolicy>;
  /** How webhook host names are resolved (the system resolver; tests substitute answers). */
  resolver?: Resolver;
  /** Delivery settings, or false to run no dispatcher in this process. */
  dispatcher?: Omit<DispatcherOptions, 'urlPolicy' | 'secretBox' | 'logger'> | false;
  /** How the SSE streams follow the outbox. */
  stream?: Omit<EventStreamOptions, 'onError'>;
  /** SSE heartbeat and reconnect delay. */
  sse?: EventRoutesOptions;
}

export interface RunningServices {
  app: FastifyInstance;
  services: Services;
  database: OpenedDatabase;
  /** The webhook dispatcher of this process, when it runs one. */
  dispatcher?: WebhookDispatcher;
  close(): Promise<void>;
}

/**
 * Wires stores, domain services and the HTTP app from a configuration. Used by `trove server`
 * and by the API tests, so both run exactly the same composition.
 */
export async function createServer(config: ServerConfig): Promise<RunningServices> {
  const env = config.env ?? process.env;
  const metrics = config.metrics === false ? undefined : new ServerMetrics();
  const poolSize = config.databasePoolSize ?? databasePoolSizeFromEnv(env);
  const database = await openDatabase(config.backendStoreUri, {
    ...(metrics ? { onQueryTiming: (ms: number, failed: boolean) => metrics.observeQuery(ms, failed) } : {}),
    ...(config.migrate !== undefined ? { migrate: config.migrate } : {}),
    ...(poolSize !== undefined ? { poolSize } : {}),
    preparedStatements: config.databasePreparedStatements ?? preparedStatementsFromEnv(env),
    sqliteSync: sqliteSyncFromEnv(env),
  });
  const artifactStore = openArtifactStore(config.artifactsDestination, config.artifactStoreEnv);
  registerServerArtifactRoot(config.artifactsDestination);
  // The audit log is written by every service inside the transaction of each change.
  const audit = new AuditLog(new SqlAuthStore(database.db));
  const auth = new AuthService(new SqlAuthStore(database.db), audit, config.auth ?? { enabled: false });
  const tracking = new TrackingService(new SqlTrackingStore(database.db), config.defaultArtifactRoot, undefined, audit);
  await tracking.initialize();
  const maxPending = Number(env.TROVE_MAX_PENDING_UPLOAD_BYTES);
  const artifacts = new ArtifactService(artifactStore.store, maxPending > 0 ? { maxPendingUploadBytes: maxPending } : {});
  // Interrupted uploads: temp files of dead processes and expired multipart uploads, at startup and hourly.
  await artifactStore.store.sweepUploads?.().catch(() => undefined);
  const uploadSweep = artifactStore.store.sweepUploads
    ? setInterval(() => void artifactStore.store.sweepUploads?.().catch(() => undefined), 60 * 60 * 1000).unref()
    : undefined;
  // Registry events: written to the outbox in each change's transaction, then delivered to
  // webhooks by the dispatcher and streamed to SSE clients, from this process or any other.
  const webhookConfig = config.webhooks ?? {};
  const eventsStore = new SqlEventsStore(database.db);
  const eventBus = new EventBus();
  let eventLog: { warn(obj: object, msg: string): void } | undefined;
  const outbox = new OutboxEventSink(eventsStore, eventBus, { warn: (message) => eventLog?.warn({}, message) });
  const registryEvents = new RegistryEventStream(eventsStore, eventBus, {
    ...webhookConfig.stream,
    onError: (error) => eventLog?.warn({ err: error }, 'reading registry events failed'),
  });
  const urlPolicy: WebhookUrlPolicy = { ...webhookUrlPolicyFromEnv(env), ...webhookConfig.urlPolicy };
  if (webhookConfig.requireHttps) urlPolicy.allowedSchemes = ['https'];
  const secretBox = openSecretBox(env, config.dataDir ?? defaultDataDir(config.backendStoreUri, config.artifactsDestination));
  await sealLegacySecrets(eventsStore, secretBox);
  const delivery = webhookDeliveryFromEnv(env);
  const dispatcherOptions =
    webhookConfig.dispatcher === false
      ? undefined
      : {
          ...(delivery.requestTimeoutMs !== undefined ? { requestTimeoutMs: delivery.requestTimeoutMs } : {}),
          ...webhookConfig.dispatcher,
          ...(delivery.maxRetries !== undefined ? { retry: { ...webhookConfig.dispatcher?.retry, maxRetries: delivery.maxRetries } } : {}),
        };
  const testTimeoutMs = dispatcherOptions?.requestTimeoutMs ?? delivery.requestTimeoutMs;
  const webhooks = new WebhookService(eventsStore, {
    urlPolicy,
    secretBox,
    audit,
    ...(webhookConfig.resolver ? { resolver: webhookConfig.resolver } : {}),
    ...(testTimeoutMs !== undefined ? { requestTimeoutMs: testTimeoutMs } : {}),
    ...(webhookConfig.dispatcher && webhookConfig.dispatcher.fetch !== undefined ? { fetch: webhookConfig.dispatcher.fetch } : {}),
  });
  const registry = new RegistryService(new SqlRegistryStore(database.db), tracking, artifacts, {
    events: composeSinks(outbox, config.registryEvents),
    audit,
  });
  const evaluationDatasets = new EvaluationDatasetService(new SqlEvaluationDatasetStore(database.db), tracking, undefined, audit);
  // `trove import --to`: the same import as into a store, driven over HTTP by the command.
  const imports = new ImportSessions(
    (progress) =>
      new ImportService(
        {
          tracking: new SqlTrackingStore(database.db),
          registry: new SqlRegistryStore(database.db),
          imports: new SqlImportStore(database.db),
          artifacts: artifactStore.store,
          traces: new SqlTraceStore(database.db),
        },
        progress,
      ),
    config.defaultArtifactRoot,
  );
  const services: Services = {
    tracking,
    imports,
    evaluationDatasets,
    artifacts,
    registry,
    webhooks,
    registryEvents,
    auth,
    audit,
    tracing: new TraceService(new SqlTraceStore(database.db), tracking, { readArtifact: (uri) => readProxiedArtifact(artifacts, uri) }),
    info: {
      version: MLFLOW_COMPAT_VERSION,
      backendStore: database.description,
      artifactsDestination: artifactStore.description,
      defaultArtifactRoot: config.defaultArtifactRoot,
      storeType: 'SqlStore',
    },
  };
  const app = await buildApp({
    services,
    logger: config.logger ?? false,
    ...(webhookConfig.sse ? { eventStream: webhookConfig.sse } : {}),
    ...(config.trustProxy !== undefined ? { trustProxy: config.trustProxy } : {}),
    ...(metrics ? { metrics } : {}),
    ...(env.TROVE_METRICS_TOKEN ? { metricsToken: env.TROVE_METRICS_TOKEN } : {}),
    accessLog: !/^(off|false|0|no)$/i.test(env.TROVE_ACCESS_LOG ?? ''),
  });
  metrics?.setSources({
    webhookDeliveries: () => eventsStore.countDeliveries(),
    ...(database.poolStats ? { databasePool: () => database.poolStats!() } : {}),
  });
  eventLog = app.log;
  const dispatcher = dispatcherOptions
    ? new WebhookDispatcher(eventsStore, eventBus, { ...dispatcherOptions, urlPolicy, secretBox, ...(webhookConfig.resolver ? { resolver: webhookConfig.resolver } : {}), logger: app.log.child({ component: 'webhooks' }) })
    : undefined;
  dispatcher?.start();
  return {
    app,
    services,
    database,
    ...(dispatcher ? { dispatcher } : {}),
    async close() {
      await dispatcher?.stop();
      imports.stop();
      if (uploadSweep) clearInterval(uploadSweep);
      await app.close();
      registryEvents.close();
      await outbox.flush();
      eventBus.close();
      await database.close();
      artifactStore.close();
    },
  };
}
