import type { TrackingService } from './tracking/tracking-service.ts';
import type { ArtifactService } from './artifacts/artifact-service.ts';
import type { RegistryService } from './registry/registry-service.ts';
import type { WebhookService } from './webhooks/webhook-service.ts';
import type { RegistryEventStream } from './events/event-stream.ts';
import type { AuthService } from './auth/auth-service.ts';
import type { AuditLog } from './audit/audit-log.ts';
import type { TraceService } from './tracing/trace-service.ts';
import type { ImportSessions } from './import/remote-session.ts';
import type { EvaluationDatasetService } from './evaluation-datasets/evaluation-dataset-service.ts';

/** What the server knows about itself, for the startup log, /version and server-info. */
export interface ServerInfo {
  version: string;
  /** Human-readable description of the backend store (no secrets). */
  backendStore: string;
  /** Human-readable description of where artifacts are stored. */
  artifactsDestination: string;
  /** Root URI new experiments get their artifact location under, e.g. `mlflow-artifacts:/`. */
  defaultArtifactRoot: string;
  storeType: 'SqlStore';
}

/** The domain services the HTTP layer calls; built once at startup. */
export interface Services {
  tracking: TrackingService;
  artifacts: ArtifactService;
  registry: RegistryService;
  info: ServerInfo;
  /** MLflow 3 webhooks and their delivery log (absent in harnesses that do not need them). */
  webhooks?: WebhookService;
  /** Registry events from the outbox, for the SSE endpoint. */
  registryEvents?: RegistryEventStream;
  /** Users, projects, members, tokens (absent in harnesses: then auth is off and only `default` exists). */
  auth?: AuthService;
  /** The audit log's reader (writers get it through their constructors). */
  audit?: AuditLog;
  /** MLflow 3 tracing: traces, spans (OTLP ingest), assessments. */
  tracing?: TraceService;
  /** `trove import --to`: import sessions driven over the bulk import API (absent in harnesses that do not need them). */
  imports?: ImportSessions;
  /** MLflow 3 evaluation datasets (absent in harnesses that do not need them). */
  evaluationDatasets?: EvaluationDatasetService;
}
