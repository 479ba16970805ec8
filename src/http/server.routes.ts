import type { FastifyInstance } from 'fastify';
import type { Services } from '../domain/services.ts';

/** Probes and server description outside MLflow's RPC namespace. */
export async function serverRoutes(app: FastifyInstance, { info }: Services): Promise<void> {
  app.get('/health', { config: { permission: 'public' } }, async (_request, reply) => reply.type('text/plain').send('OK'));
  app.get('/version', { config: { permission: 'public' } }, async (_request, reply) => reply.type('text/plain').send(info.version));
  app.get('/api/3.0/mlflow/server-info', { config: { permission: 'public' } }, async () => ({
    store_type: info.storeType,
    // Projects are MLflow's workspaces: MLFLOW_WORKSPACE=<project> (the X-MLFLOW-WORKSPACE
    // header) selects one, and the MLflow 3 client only sends it to servers that say so here.
    workspaces_enabled: true,
    // The proxy implements multipart upload (parts go to our own upload-part route), so the
    // client may use it for files at or above MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE.
    multipart_uploads_enabled: true,
  }));
}
